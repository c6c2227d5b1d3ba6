/**
 * Route planning as pure functions: capability filtering, conditions, every strategy
 * (with a seeded random, so distributions are exact to reproduce), health ordering and
 * the per-route max_tokens default and cap. Prices come from the real registry.
 */
import { describe, expect, it } from "vitest";
import type { ChatCompletionRequest, ModelCapabilities, ModelPricing, RouteOptions, RouteStrategy } from "@switchyard/contracts";
import { resolvePricing } from "@switchyard/pricing";
import type { ModelEntry, ProviderEntry, RouteEntry, RouteTargetEntry } from "../snapshot";
import {
  applyMaxTokens,
  capabilityMismatch,
  conditionMatches,
  noCandidatesMessage,
  planRoute,
  planSingle,
  requestFeatures,
  type HealthView,
  type RequestFeatures,
} from "./plan";

const provider: ProviderEntry = { id: "p1", slug: "openai-main", type: "openai", baseUrl: null, apiVersion: null, keys: [], nextKey: 0 };

function model(name: string, capabilities: ModelCapabilities = {}, upstreamModel = name): ModelEntry {
  return { name, orgId: null, upstreamModel, provider, pricing: resolvePricing(upstreamModel), capabilities, createdAt: new Date(0) };
}

function route(strategy: RouteStrategy, targets: (string | Partial<RouteTargetEntry> & { model: string })[], options: RouteOptions = {}): RouteEntry {
  return {
    alias: "chat",
    orgId: null,
    strategy,
    targets: targets.map((t) => (typeof t === "string" ? { model: t, weight: 1, when: null } : { weight: 1, when: null, ...t })),
    strict: false,
    options,
    createdAt: new Date(0),
  };
}

function features(over: Partial<RequestFeatures> = {}): RequestFeatures {
  return {
    estimatedInputTokens: 100,
    requestedMaxTokens: null,
    hasImages: false,
    hasTools: false,
    jsonMode: false,
    stream: false,
    tags: {},
    headers: {},
    metadata: {},
    endUser: null,
    ...over,
  };
}

/** mulberry32: a small seeded PRNG, so the distribution tests give the same numbers every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function healthView(opts: { down?: string[]; ewma?: Record<string, number>; inflight?: Record<string, number> } = {}): HealthView & { admitCalls: string[] } {
  const admitCalls: string[] = [];
  return {
    admitCalls,
    admit: (t) => {
      admitCalls.push(t);
      return !(opts.down ?? []).includes(t);
    },
    latencyEwma: (t) => opts.ewma?.[t] ?? null,
    inflight: (t) => opts.inflight?.[t] ?? 0,
  };
}

const registry = new Map<string, ModelEntry>();
for (const m of [
  model("gpt-4o"),
  model("gpt-4o-mini"),
  model("claude-haiku", {}, "claude-haiku-4-5"),
  model("gpt-4.1-mini"),
  model("gpt-5-mini"),
  model("local-llama", {}, "llama-3.1-8b-instruct"),
  model("small-ctx", { contextWindow: 8192, maxOutputTokens: 4096 }),
  model("no-vision", { vision: false, tools: true }),
  model("no-tools", { tools: false }),
  model("no-json", { jsonMode: false }),
  model("no-stream", { streaming: false }),
  model("a"),
  model("b"),
  model("c"),
]) {
  registry.set(m.name, m);
}
const lookup = (name: string) => registry.get(name) ?? null;
const priceOf = (m: ModelEntry): ModelPricing | null => m.pricing;
const names = (ms: readonly ModelEntry[]) => ms.map((m) => m.name);

const plan = (r: RouteEntry, f: RequestFeatures = features(), health: HealthView = healthView(), random: () => number = seeded(1)) =>
  planRoute(r, lookup, f, health, priceOf, random);

describe("requestFeatures", () => {
  const ctx = { tags: { env: "prod" }, endUser: "u-1", headers: { "X-Tenant": "acme", authorization: "Bearer sk-sy-secret", "x-api-key": "sk-sy-secret" } };

  it("reads images, tools, JSON mode, streaming and max tokens from the body", () => {
    const body: ChatCompletionRequest = {
      model: "chat",
      stream: true,
      max_tokens: 500,
      max_completion_tokens: 300,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } },
      tools: [{ type: "function", function: { name: "f", parameters: {} } }],
      messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: "https://example.com/a.png" } }] }],
      metadata: { feature: "search", version: 2, beta: true, nested: { no: 1 } },
    };
    const f = requestFeatures(body, ctx, 1234);
    expect(f).toMatchObject({
      estimatedInputTokens: 1234,
      requestedMaxTokens: 300,
      hasImages: true,
      hasTools: true,
      jsonMode: true,
      stream: true,
      tags: { env: "prod" },
      endUser: "u-1",
      metadata: { feature: "search", version: "2", beta: "true" },
    });
  });

  it("counts tool results in the conversation as tool use and plain text as nothing special", () => {
    const plain = requestFeatures({ model: "chat", messages: [{ role: "user", content: "hi" }], response_format: { type: "text" } }, ctx, 5);
    expect(plain).toMatchObject({ requestedMaxTokens: null, hasImages: false, hasTools: false, jsonMode: false, stream: false, metadata: {} });
    const toolResult = requestFeatures(
      {
        model: "chat",
        messages: [
          { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "c1", content: "42" },
        ],
      },
      ctx,
      5,
    );
    expect(toolResult.hasTools).toBe(true);
  });

  it("keeps headers with lowercase names and drops credentials", () => {
    const f = requestFeatures({ model: "chat", messages: [{ role: "user", content: "hi" }] }, ctx, 5);
    expect(f.headers).toEqual({ "x-tenant": "acme" });
  });
});

describe("capabilityMismatch", () => {
  it("treats unknown capabilities as present", () => {
    expect(capabilityMismatch(registry.get("a")!, features({ hasImages: true, hasTools: true, jsonMode: true, stream: true, estimatedInputTokens: 2_000_000 }))).toBeNull();
  });

  it("names what the model cannot take", () => {
    expect(capabilityMismatch(registry.get("no-vision")!, features({ hasImages: true }))).toBe("does not accept images");
    expect(capabilityMismatch(registry.get("no-vision")!, features({ hasTools: true }))).toBeNull();
    expect(capabilityMismatch(registry.get("no-tools")!, features({ hasTools: true }))).toBe("does not support tools");
    expect(capabilityMismatch(registry.get("no-json")!, features({ jsonMode: true }))).toBe("does not support JSON mode (response_format)");
    expect(capabilityMismatch(registry.get("no-stream")!, features({ stream: true }))).toBe("cannot stream");
    expect(capabilityMismatch(registry.get("no-stream")!, features())).toBeNull();
  });

  it("checks input plus requested output against the context window, and the output limit", () => {
    const small = registry.get("small-ctx")!;
    expect(capabilityMismatch(small, features({ estimatedInputTokens: 8000 }))).toBeNull();
    expect(capabilityMismatch(small, features({ estimatedInputTokens: 8000, requestedMaxTokens: 1000 }))).toBe("context window 8192 < ~9000 tokens needed");
    expect(capabilityMismatch(small, features({ estimatedInputTokens: 9000 }))).toBe("context window 8192 < ~9000 tokens needed");
    expect(capabilityMismatch(small, features({ requestedMaxTokens: 5000 }))).toBe("max output 4096 tokens < 5000 requested");
    expect(capabilityMismatch(small, features({ requestedMaxTokens: 4096 }))).toBeNull();
  });
});

describe("conditionMatches", () => {
  const f = features({
    tags: { env: "prod", team: "search" },
    headers: { "x-tenant": "acme", "x-multi": ["one", "two"] },
    metadata: { feature: "summarise" },
    endUser: "alice",
  });

  it("matches each field alone, with one value or a list of alternatives", () => {
    expect(conditionMatches({ tags: { env: "prod" } }, f)).toBe(true);
    expect(conditionMatches({ tags: { env: "dev" } }, f)).toBe(false);
    expect(conditionMatches({ tags: { env: ["dev", "prod"] } }, f)).toBe(true);
    expect(conditionMatches({ tags: { missing: "x" } }, f)).toBe(false);
    expect(conditionMatches({ headers: { "X-Tenant": "acme" } }, f)).toBe(true);
    expect(conditionMatches({ headers: { "x-multi": "two" } }, f)).toBe(true);
    expect(conditionMatches({ headers: { "x-multi": ["three", "four"] } }, f)).toBe(false);
    expect(conditionMatches({ metadata: { feature: ["chat", "summarise"] } }, f)).toBe(true);
    expect(conditionMatches({ metadata: { feature: "chat" } }, f)).toBe(false);
    expect(conditionMatches({ user: "alice" }, f)).toBe(true);
    expect(conditionMatches({ user: ["bob", "carol"] }, f)).toBe(false);
    expect(conditionMatches({ user: "alice" }, { ...f, endUser: null })).toBe(false);
  });

  it("needs every field and every key to match (AND); an empty condition matches all", () => {
    expect(conditionMatches({ tags: { env: "prod", team: "search" }, user: "alice", metadata: { feature: "summarise" } }, f)).toBe(true);
    expect(conditionMatches({ tags: { env: "prod", team: "ads" } }, f)).toBe(false);
    expect(conditionMatches({ tags: { env: "prod" }, user: "bob" }, f)).toBe(false);
    expect(conditionMatches({}, f)).toBe(true);
  });
});

describe("applyMaxTokens", () => {
  const base: ChatCompletionRequest = { model: "chat", messages: [{ role: "user", content: "hi" }] };

  it("sets the default when the request asks for none", () => {
    expect(applyMaxTokens(base, { default: 512 })).toEqual({ body: { ...base, max_tokens: 512 }, changed: true });
    expect(applyMaxTokens({ ...base, max_tokens: null }, { default: 512, cap: 256 })).toEqual({ body: { ...base, max_tokens: 256 }, changed: true });
    expect(base.max_tokens).toBeUndefined();
  });

  it("lowers values above the cap in whichever field the client used", () => {
    expect(applyMaxTokens({ ...base, max_tokens: 9000 }, { cap: 4000 }).body.max_tokens).toBe(4000);
    const both = applyMaxTokens({ ...base, max_tokens: 9000, max_completion_tokens: 5000 }, { default: 100, cap: 4000 });
    expect(both).toEqual({ body: { ...base, max_tokens: 4000, max_completion_tokens: 4000 }, changed: true });
    const completion = applyMaxTokens({ ...base, max_completion_tokens: 5000 }, { cap: 4000 });
    expect(completion.body).toEqual({ ...base, max_completion_tokens: 4000 });
  });

  it("leaves requests within the limits (or routes without any) untouched", () => {
    const within = { ...base, max_tokens: 100 };
    expect(applyMaxTokens(within, { default: 512, cap: 4000 })).toEqual({ body: within, changed: false });
    expect(applyMaxTokens(within, { default: 512, cap: 4000 }).body).toBe(within);
    expect(applyMaxTokens(base, undefined)).toEqual({ body: base, changed: false });
    expect(applyMaxTokens(base, { cap: 4000 })).toEqual({ body: base, changed: false });
  });
});

describe("planRoute: filtering and fallback", () => {
  it("keeps the listed order and excludes missing and incapable targets with reasons", () => {
    const r = route("fallback", ["no-vision", "missing", "gpt-4o-mini", "a"]);
    const p = plan(r, features({ hasImages: true }));
    expect(names(p.candidates)).toEqual(["gpt-4o-mini", "a"]);
    expect(p.excluded).toEqual([
      { model: "no-vision", reason: "does not accept images" },
      { model: "missing", reason: "no such model" },
    ]);
    expect(names(plan(r).candidates)).toEqual(["no-vision", "gpt-4o-mini", "a"]);
  });

  it("sends a long prompt only to models whose context window holds it", () => {
    const p = plan(route("fallback", ["small-ctx", "a"]), features({ estimatedInputTokens: 7000, requestedMaxTokens: 2000 }));
    expect(names(p.candidates)).toEqual(["a"]);
    expect(p.excluded).toEqual([{ model: "small-ctx", reason: "context window 8192 < ~9000 tokens needed" }]);
  });

  it("returns no candidates when nothing can take the request, with a message naming each reason", () => {
    const p = plan(route("fallback", ["no-tools", "missing"]), features({ hasTools: true }));
    expect(p.candidates).toEqual([]);
    expect(noCandidatesMessage("chat", p)).toBe("No model behind 'chat' can take this request (no-tools: does not support tools; missing: no such model).");
  });

  it("tries a model listed twice once", () => {
    expect(names(plan(route("fallback", ["a", "b", "a"])).candidates)).toEqual(["a", "b"]);
  });
});

describe("planRoute: health", () => {
  it("moves unhealthy targets to the end in their order, and asks admit once per target", () => {
    const h = healthView({ down: ["a", "c"] });
    const p = plan(route("fallback", ["a", "b", "c", "gpt-4o"]), features(), h);
    expect(names(p.candidates)).toEqual(["b", "gpt-4o", "a", "c"]);
    expect([...h.admitCalls].sort()).toEqual(["a", "b", "c", "gpt-4o"]);
  });

  it("still tries every target, in order, when all are unhealthy", () => {
    const p = plan(route("fallback", ["a", "b", "c"]), features(), healthView({ down: ["a", "b", "c"] }));
    expect(names(p.candidates)).toEqual(["a", "b", "c"]);
  });
});

describe("planRoute: weighted", () => {
  const r = route("weighted", [
    { model: "a", weight: 1 },
    { model: "b", weight: 3 },
    { model: "c", weight: 6 },
  ]);

  it("draws the primary in proportion to the weights (10k seeded draws) and orders the rest by weight", () => {
    const random = seeded(42);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) {
      const p = plan(r, features(), healthView(), random);
      counts[p.candidates[0]!.name]!++;
      const rest = names(p.candidates.slice(1));
      expect(rest).toEqual(["a", "b", "c"].filter((n) => n !== p.candidates[0]!.name).sort((x, y) => ({ a: 1, b: 3, c: 6 })[y]! - ({ a: 1, b: 3, c: 6 })[x]!));
    }
    expect(Math.abs(counts.a! / 10_000 - 0.1)).toBeLessThan(0.015);
    expect(Math.abs(counts.b! / 10_000 - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(counts.c! / 10_000 - 0.6)).toBeLessThan(0.015);
  });

  it("sticky: the same end user always gets the same target, users spread by weight", () => {
    const sticky = { ...r, options: { sticky: true } };
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    const picks = new Map<string, string>();
    for (let u = 0; u < 5000; u++) {
      const user = `user-${u}`;
      const first = plan(sticky, features({ endUser: user }), healthView(), seeded(u)).candidates[0]!.name;
      const again = plan(sticky, features({ endUser: user }), healthView(), seeded(u + 99_999)).candidates[0]!.name;
      expect(again).toBe(first);
      picks.set(user, first);
      counts[first]!++;
    }
    expect(Math.abs(counts.a! / 5000 - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(counts.b! / 5000 - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(counts.c! / 5000 - 0.6)).toBeLessThan(0.02);

    // Removing target "a" moves only a's users; everyone on b or c stays put.
    const withoutA = { ...sticky, targets: sticky.targets.filter((t) => t.model !== "a") };
    for (const [user, pick] of picks) {
      const now = plan(withoutA, features({ endUser: user })).candidates[0]!.name;
      if (pick !== "a") expect(now).toBe(pick);
    }
  });

  it("sticky without an end user falls back to a random draw", () => {
    const sticky = { ...r, options: { sticky: true } };
    const firsts = new Set<string>();
    const random = seeded(7);
    for (let i = 0; i < 200; i++) firsts.add(plan(sticky, features(), healthView(), random).candidates[0]!.name);
    expect([...firsts].sort()).toEqual(["a", "b", "c"]);
  });

  it("an unhealthy sticky target goes last; the user is served by the next heaviest", () => {
    const sticky = { ...r, options: { sticky: true } };
    const user = [...Array(100).keys()].map((i) => `user-${i}`).find((u) => plan(sticky, features({ endUser: u })).candidates[0]!.name === "a")!;
    expect(user).toBeDefined();
    expect(names(plan(sticky, features({ endUser: user }), healthView({ down: ["a"] })).candidates)).toEqual(["c", "b", "a"]);
  });
});

describe("planRoute: cheapest", () => {
  it("orders by this request's estimated cost with registry prices, unpriced last", () => {
    const r = route("cheapest", ["local-llama", "gpt-4o", "claude-haiku", "gpt-4o-mini"]);
    const p = plan(r, features({ estimatedInputTokens: 1000 }));
    // Per 1000 in + 256 out: mini $0.0003036, haiku $0.00228, 4o $0.00506; llama has no price.
    expect(names(p.candidates)).toEqual(["gpt-4o-mini", "claude-haiku", "gpt-4o", "local-llama"]);
  });

  it("weighs input and output by the request: a long prompt and a long answer pick differently", () => {
    const r = route("cheapest", ["gpt-4.1-mini", "gpt-5-mini"]);
    // gpt-5-mini: $0.25 in / $2.00 out; gpt-4.1-mini: $0.40 in / $1.60 out.
    expect(names(plan(r, features({ estimatedInputTokens: 100_000, requestedMaxTokens: 100 })).candidates)).toEqual(["gpt-5-mini", "gpt-4.1-mini"]);
    expect(names(plan(r, features({ estimatedInputTokens: 10, requestedMaxTokens: 10_000 })).candidates)).toEqual(["gpt-4.1-mini", "gpt-5-mini"]);
  });

  it("uses the caller's price (an org override) rather than the model's", () => {
    const r = route("cheapest", ["gpt-4o-mini", "gpt-4o"]);
    const override = (m: ModelEntry) => (m.name === "gpt-4o" ? { inputPerMTok: "0.01", outputPerMTok: "0.01" } : m.pricing);
    expect(names(planRoute(r, lookup, features(), healthView(), override).candidates)).toEqual(["gpt-4o", "gpt-4o-mini"]);
  });
});

describe("planRoute: fastest", () => {
  it("with two targets the lower EWMA always leads", () => {
    const r = route("fastest", ["b", "a"]);
    const random = seeded(3);
    for (let i = 0; i < 200; i++) {
      expect(names(plan(r, features(), healthView({ ewma: { a: 100, b: 500 } }), random).candidates)).toEqual(["a", "b"]);
    }
  });

  it("power of two choices: the slowest never leads, the fastest leads about two draws in three", () => {
    const r = route("fastest", ["c", "b", "a"]);
    const h = healthView({ ewma: { a: 100, b: 300, c: 900 } });
    const random = seeded(11);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 3000; i++) {
      const p = plan(r, features(), h, random);
      counts[p.candidates[0]!.name]!++;
      // The rest by ascending EWMA.
      expect(names(p.candidates.slice(1))).toEqual(["a", "b", "c"].filter((n) => n !== p.candidates[0]!.name));
    }
    expect(counts.c).toBe(0);
    expect(Math.abs(counts.a! / 3000 - 2 / 3)).toBeLessThan(0.03);
  });

  it("accounts for requests in flight and tries unmeasured targets first", () => {
    expect(names(plan(route("fastest", ["a", "b"]), features(), healthView({ ewma: { a: 100, b: 300 }, inflight: { a: 9 } })).candidates)).toEqual(["b", "a"]);
    expect(names(plan(route("fastest", ["a", "b"]), features(), healthView({ ewma: { a: 100 } })).candidates)).toEqual(["b", "a"]);
  });

  it("chooses only among healthy targets; unhealthy ones come last", () => {
    const r = route("fastest", ["a", "b", "c"]);
    const h = healthView({ ewma: { a: 50, b: 400, c: 800 }, down: ["a"] });
    const random = seeded(5);
    for (let i = 0; i < 100; i++) {
      const p = plan(r, features(), h, random);
      expect(p.candidates[0]!.name).not.toBe("a");
      expect(p.candidates.at(-1)!.name).toBe("a");
    }
  });
});

describe("planRoute: conditional", () => {
  const r = route("conditional", [
    { model: "gpt-4o", when: { tags: { tier: ["pro", "enterprise"] } } },
    { model: "claude-haiku", when: { headers: { "x-tenant": "acme" }, metadata: { feature: "summarise" } } },
    { model: "gpt-4o-mini" },
    { model: "b", when: { user: "alice" } },
  ]);

  it("puts matching targets first in listed order, then the defaults", () => {
    const f = features({ tags: { tier: "pro" }, headers: { "x-tenant": "acme" }, metadata: { feature: "summarise" }, endUser: "alice" });
    expect(names(plan(r, f).candidates)).toEqual(["gpt-4o", "claude-haiku", "b", "gpt-4o-mini"]);
    const p = plan(r, features({ tags: { tier: "free" }, headers: { "x-tenant": "acme" } }));
    expect(names(p.candidates)).toEqual(["gpt-4o-mini"]);
    expect(p.excluded.map((e) => e.model)).toEqual(["gpt-4o", "claude-haiku", "b"]);
  });

  it("returns no candidates when no condition matches and there is no default", () => {
    const onlyConditional = route("conditional", [{ model: "a", when: { user: "alice" } }, { model: "b", when: { tags: { env: "prod" } } }]);
    const p = plan(onlyConditional, features({ endUser: "bob" }));
    expect(p.candidates).toEqual([]);
    expect(p.excluded).toEqual([
      { model: "a", reason: "its condition does not match the request" },
      { model: "b", reason: "its condition does not match the request" },
    ]);
  });

  it("ignores `when` under other strategies", () => {
    expect(names(plan({ ...r, strategy: "fallback" }).candidates)).toEqual(["gpt-4o", "claude-haiku", "gpt-4o-mini", "b"]);
  });
});

describe("planSingle", () => {
  it("is the model itself, or no candidate with the reason", () => {
    expect(names(planSingle(registry.get("a")!, features({ hasImages: true })).candidates)).toEqual(["a"]);
    const p = planSingle(registry.get("no-vision")!, features({ hasImages: true }));
    expect(p).toEqual({ candidates: [], excluded: [{ model: "no-vision", reason: "does not accept images" }] });
    expect(noCandidatesMessage("no-vision", p)).toBe("No model behind 'no-vision' can take this request (no-vision: does not accept images).");
  });
});
