/**
 * The exact cache, the semantic cache and request coalescing, through the proxy's HTTP
 * API: what the client gets (headers, JSON, replayed streams), how many upstream calls
 * the mock saw, and what each usage event records ($0 for reused answers, the saving in
 * requestedCostNanoUsd). Real Postgres (own database) and Redis
 * (SWITCHYARD_TEST_REDIS_URL, default DB 1); the OpenAI mock in this process, with
 * lexical embeddings so that paraphrases have close vectors.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { routeOptionsSchema, type UsageEvent } from "@switchyard/contracts";
import { generateVirtualKey, type Prisma } from "@switchyard/db";
import { lexicalEmbedding, loadFixtures } from "@switchyard/mock-upstream";
import { computeCostNanoUsd, formatNanoUsd } from "@switchyard/pricing";
import type { RunningProxy } from "../src/boot";
import { call, setupHarness, usageEventFor, waitFor, type Harness, type Reply } from "./harness";

const EMBEDDING_MODEL = "embed-small";
const GPT_PRICE = { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075" };
const EMBED_PRICE = { inputPerMTok: "0.02", outputPerMTok: "0" };
const SEMANTIC = { embeddingModel: EMBEDDING_MODEL, threshold: 0.85, maxTemperature: 0.5 };
/** Coalescing needs the leader's call to still be in flight when the others arrive. */
const SLOW_MS = 300;

const PROXY_ENV = {
  SWITCHYARD_LIMITS_PREFIX: `test:cache:${process.pid}:`,
  // This suite injects upstream failures: circuits must not open between tests.
  PROXY_HEALTH_MIN_REQUESTS: "1000000",
  // Hits are asserted here, not the timeout (src/cache/exact.test.ts does that): a read
  // held up past the 50 ms default on a busy CI machine was served as a miss once.
  PROXY_CACHE_TIMEOUT_MS: "2000",
};

/** Route alias → options; every route has the one target gpt-4o-mini (priced). */
const ROUTES: Record<string, Prisma.InputJsonObject> = {
  cached: { cache: { ttlSeconds: 60 } },
  "cached-team": { cache: { ttlSeconds: 60, scope: "team" } },
  "cached-short": { cache: { ttlSeconds: 1 } },
  // One attempt: a failed answer reaches the client instead of being retried away.
  "cached-once": { cache: { ttlSeconds: 60 }, retry: { maxAttempts: 1 } },
  plain: {},
  semantic: { cache: { ttlSeconds: 60, semantic: SEMANTIC } },
};

interface Pair {
  id: string;
  label: "same" | "different";
  a: string;
  b: string;
}
const PAIRS = (JSON.parse(readFileSync(new URL("./fixtures/paraphrase-pairs.json", import.meta.url), "utf8")) as { pairs: Pair[] }).pairs;
const pair = (id: string): Pair => {
  const p = PAIRS.find((x) => x.id === id);
  if (!p) throw new Error(`no pair ${id}`);
  return p;
};
/** "What is the boiling point of water at sea level?" / "At sea level, what's the boiling point of water?" */
const PARAPHRASE = pair("same-012");
/** "How long should I boil an egg for a soft yolk?" / "For a soft yolk, how long do I boil an egg?" */
const PARAPHRASE_2 = pair("same-014");

let h: Harness;
let running: RunningProxy;
let base: string;
/** Keys of the same org in another team, and of another org. */
let otherTeamKey: string;
let otherOrgKey: string;

let counter = 0;
/** A question no other test asks, so every test starts from an empty cache. */
const fresh = (label: string) => `${label} question ${++counter} of run ${process.pid}-${Date.now()}`;

const chatUrl = () => `${base}/v1/chat/completions`;
const messagesUrl = () => `${base}/v1/messages`;
const chatBody = (model: string, content: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: "user", content }], ...extra });
const chat = (body: unknown, opts: { key?: string; headers?: Record<string, string>; url?: string } = {}) =>
  call(opts.url ?? chatUrl(), { key: opts.key ?? h.keys.main, body, headers: opts.headers });

const requestIdOf = (r: Reply) => String(r.headers["x-request-id"]);
const eventOf = (r: Reply): Promise<UsageEvent> => usageEventFor(h.queue, requestIdOf(r));
const cacheHeader = (r: Reply) => r.headers["x-switchyard-cache"];

/** Counts the mock's chat (and embeddings) calls from now on. */
function upstreamCalls(): { chat(): number; embeddings(): number } {
  const start = h.mock.requests.length;
  const since = (suffix: string) => h.mock.requests.slice(start).filter((r) => r.path.endsWith(suffix)).length;
  return { chat: () => since("/chat/completions"), embeddings: () => since("/embeddings") };
}

interface OpenAiChunk {
  choices: { index: number; delta: { role?: string; content?: string | null }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

/** An OpenAI SSE body's data events, checked to be a well-formed stream ending in [DONE]. */
function parseOpenAiStream(text: string): { chunks: OpenAiChunk[]; content: string; finish: string | null; usage: OpenAiChunk["usage"] } {
  const events = text.split("\n\n").filter((e) => e.trim() !== "");
  const datas = events.map((e) => {
    expect(e.startsWith("data: ")).toBe(true);
    return e.slice("data: ".length);
  });
  expect(datas.at(-1)).toBe("[DONE]");
  const chunks = datas.slice(0, -1).map((d) => JSON.parse(d) as OpenAiChunk);
  let content = "";
  let finish: string | null = null;
  let usage: OpenAiChunk["usage"] = undefined;
  for (const c of chunks) {
    for (const choice of c.choices) {
      content += choice.delta.content ?? "";
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (c.usage) usage = c.usage;
  }
  return { chunks, content, finish, usage };
}

/** An Anthropic SSE body's events (name and data), in order. */
function parseAnthropicStream(text: string): { type: string; data: Record<string, unknown> }[] {
  return text
    .split("\n\n")
    .filter((e) => e.trim() !== "")
    .map((e) => {
      const lines = e.split("\n");
      const type = lines.find((l) => l.startsWith("event: "))?.slice("event: ".length) ?? "";
      const data = lines.find((l) => l.startsWith("data: "))?.slice("data: ".length) ?? "{}";
      return { type, data: JSON.parse(data) as Record<string, unknown> };
    });
}

const assistantText = (r: Reply) => (r.json() as { choices: { message: { content: string } }[] }).choices[0]!.message.content;

/** The recorded answers the mock serves (JSON and stream). */
const fx = loadFixtures();
const RECORDED_TEXT = (JSON.parse(fx.chatText) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;

/** A miss then a hit of the same request: the hit is $0, records the miss's cost as the saving, same tokens. */
async function expectSavingRecorded(miss: Reply, hit: Reply, status: "hit" | "semantic-hit" | "coalesced" = "hit"): Promise<{ missEvent: UsageEvent; hitEvent: UsageEvent }> {
  const missEvent = await eventOf(miss);
  const hitEvent = await eventOf(hit);
  expect(missEvent.cacheStatus).toBe("miss");
  expect(missEvent.status).toBe(200);
  const missCost = computeCostNanoUsd(missEvent.usage, GPT_PRICE);
  expect(missCost).toBeGreaterThan(0n);
  expect(missEvent.costNanoUsd).toBe(missCost.toString());
  expect(hitEvent.cacheStatus).toBe(status);
  expect(hitEvent.status).toBe(200);
  expect(hitEvent.costNanoUsd).toBe("0");
  expect(hitEvent.requestedCostNanoUsd).toBe(missCost.toString());
  expect(hitEvent.usage).toEqual(missEvent.usage);
  expect(hitEvent.servedModel).toBe("gpt-4o-mini");
  expect(hitEvent.provider).toBe("openai-main");
  expect(hitEvent.attempts).toBe(0);
  return { missEvent, hitEvent };
}

beforeAll(async () => {
  h = await setupHarness({ database: "switchyard_test_cache" });
  h.mock.setEmbeddings("lexical");
  const openai = await h.prisma.providerCredential.findUniqueOrThrow({ where: { slug: "openai-main" } });
  await h.prisma.model.create({
    data: { name: EMBEDDING_MODEL, providerId: openai.id, upstreamModel: "text-embedding-3-small", pricing: EMBED_PRICE },
  });
  for (const [alias, options] of Object.entries(ROUTES)) {
    // The snapshot ignores invalid options silently: make sure these are valid.
    routeOptionsSchema.parse(options);
    await h.prisma.route.create({ data: { alias, strategy: "fallback", targets: [{ model: "gpt-4o-mini" }], options } });
  }
  const keyFor = async (orgId: string, teamId: string, name: string) => {
    const k = generateVirtualKey();
    await h.prisma.virtualKey.create({ data: { orgId, teamId, name, keyHash: k.hash, prefix: k.prefix } });
    return k.key;
  };
  const ads = await h.prisma.team.create({ data: { orgId: h.orgId, slug: "ads", name: "Ads" } });
  otherTeamKey = await keyFor(h.orgId, ads.id, "ads-key");
  const globex = await h.prisma.organization.create({ data: { slug: "globex", name: "Globex" } });
  const globexTeam = await h.prisma.team.create({ data: { orgId: globex.id, slug: "search", name: "Search" } });
  otherOrgKey = await keyFor(globex.id, globexTeam.id, "globex-key");

  const started = await h.startProxy({ envOverrides: PROXY_ENV });
  running = started.running;
  base = started.url;
}, 30_000);

afterAll(async () => h?.close());
beforeEach(() => {
  h.mock.clearFaults();
  h.mock.setScenario(null);
});

describe("a cut stream", () => {
  it("a request sent after a cut stream has ended gets an upstream call of its own, not the cut stream", async () => {
    // Fails today (see the report): the cut call's flight stays open while the leader
    // estimates its usage, and an identical request sent right after the client saw
    // the error joins it and is replayed the same broken stream, with no call of its own.
    // A long prompt: estimating the cut call's usage (the tokenizer) keeps that window open
    // for a while. First in the file on purpose: the window is widest while the tokenizer
    // is cold (with a warm one it is a few ms, and this test usually passes despite the bug).
    const question = `${fresh("after-cut")} ${"please summarise the following notes carefully ".repeat(1000)}`;
    const calls = upstreamCalls();
    h.mock.queueFaults(["stream-cut"]);
    const cut = await chat(chatBody("cached", question, { stream: true }));
    expect(cut.text).toContain("upstream_stream_interrupted");
    const next = await chat(chatBody("cached", question, { stream: true }));
    expect(next.text).not.toContain("upstream_stream_interrupted");
    expect(parseOpenAiStream(next.text).finish).toBe("stop");
    expect(calls.chat()).toBe(2);
  });
});

describe("exact cache", () => {
  it("a miss then a hit: same body in another key order and another `user` is a hit; one upstream call; $0 with the saving recorded", async () => {
    const question = fresh("exact");
    const calls = upstreamCalls();
    const miss = await chat({ model: "cached", messages: [{ role: "user", content: question }], temperature: 0, user: "alice" });
    expect(miss.status).toBe(200);
    expect(cacheHeader(miss)).toBe("miss");
    // Other key order, other `user`: the same request as far as the answer goes.
    const hit = await chat({ user: "bob", temperature: 0, messages: [{ content: question, role: "user" }], model: "cached" });
    expect(hit.status).toBe(200);
    expect(cacheHeader(hit)).toBe("hit");
    expect(hit.headers["x-switchyard-cost-usd"]).toBe(formatNanoUsd(0n));
    expect(hit.headers["x-switchyard-model"]).toBe("gpt-4o-mini");
    expect(calls.chat()).toBe(1);
    expect(assistantText(hit)).toBe(assistantText(miss));
    expect(assistantText(hit)).toBe(RECORDED_TEXT);
    await expectSavingRecorded(miss, hit);

    // Something that does change the answer (temperature) is a miss.
    const other = await chat({ model: "cached", messages: [{ role: "user", content: question }], temperature: 0.7 });
    expect(cacheHeader(other)).toBe("miss");
    expect(calls.chat()).toBe(2);
  });

  it("a streamed miss then a streamed hit: a valid SSE stream with the same text, $0 with the saving recorded", async () => {
    const question = fresh("stream");
    const calls = upstreamCalls();
    const miss = await chat(chatBody("cached", question, { stream: true }));
    expect(miss.status).toBe(200);
    expect(cacheHeader(miss)).toBe("miss");
    const original = parseOpenAiStream(miss.text);
    expect(original.content.length).toBeGreaterThan(0);

    const hit = await chat(chatBody("cached", question, { stream: true }));
    expect(hit.status).toBe(200);
    expect(cacheHeader(hit)).toBe("hit");
    expect(String(hit.headers["content-type"])).toContain("text/event-stream");
    const replay = parseOpenAiStream(hit.text);
    expect(replay.content).toBe(original.content);
    expect(replay.finish).toBe("stop");
    expect(replay.chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(replay.usage).toBeUndefined();
    expect(calls.chat()).toBe(1);
    const { hitEvent } = await expectSavingRecorded(miss, hit);
    expect(hitEvent.stream).toBe(true);
  });

  it("a stream asked with include_usage is replayed with its usage chunk", async () => {
    const question = fresh("stream-usage");
    const calls = upstreamCalls();
    const body = chatBody("cached", question, { stream: true, stream_options: { include_usage: true } });
    const miss = await chat(body);
    expect(cacheHeader(miss)).toBe("miss");
    const hit = await chat(body);
    expect(cacheHeader(hit)).toBe("hit");
    expect(calls.chat()).toBe(1);
    const { hitEvent } = await expectSavingRecorded(miss, hit);
    const replay = parseOpenAiStream(hit.text);
    expect(replay.content).toBe(parseOpenAiStream(miss.text).content);
    const last = replay.chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.prompt_tokens).toBe(hitEvent.usage.inputTokens);
    expect(last.usage?.completion_tokens).toBe(hitEvent.usage.outputTokens);
  });

  it("an answer cached from a stream without include_usage still has its usage: the replay's usage chunk, the JSON hit's `usage`", async () => {
    // Fails today (see the report): the stored completion is assembled from the client's
    // stream, which had no usage chunk, so the replay has none and the JSON hit no `usage`.
    const question = fresh("stream-no-usage");
    const miss = await chat(chatBody("cached", question, { stream: true }));
    expect(cacheHeader(miss)).toBe("miss");
    const missEvent = await eventOf(miss);
    const withUsage = await chat(chatBody("cached", question, { stream: true, stream_options: { include_usage: true } }));
    expect(cacheHeader(withUsage)).toBe("hit");
    const last = parseOpenAiStream(withUsage.text).chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.prompt_tokens).toBe(missEvent.usage.inputTokens);
    expect(last.usage?.completion_tokens).toBe(missEvent.usage.outputTokens);
    const json = await chat(chatBody("cached", question));
    expect(cacheHeader(json)).toBe("hit");
    const usage = (json.json() as { usage?: { prompt_tokens: number; completion_tokens: number } }).usage;
    expect(usage?.prompt_tokens).toBe(missEvent.usage.inputTokens);
    expect(usage?.completion_tokens).toBe(missEvent.usage.outputTokens);
  });

  it("a streamed answer serves a later JSON request, and a JSON answer a later stream", async () => {
    const calls = upstreamCalls();
    const q1 = fresh("stream-then-json");
    const streamed = await chat(chatBody("cached", q1, { stream: true }));
    expect(cacheHeader(streamed)).toBe("miss");
    const json = await chat(chatBody("cached", q1));
    expect(json.status).toBe(200);
    expect(cacheHeader(json)).toBe("hit");
    expect(assistantText(json)).toBe(parseOpenAiStream(streamed.text).content);
    await expectSavingRecorded(streamed, json);

    const q2 = fresh("json-then-stream");
    const first = await chat(chatBody("cached", q2));
    expect(cacheHeader(first)).toBe("miss");
    const replay = await chat(chatBody("cached", q2, { stream: true }));
    expect(cacheHeader(replay)).toBe("hit");
    expect(parseOpenAiStream(replay.text).content).toBe(assistantText(first));
    expect(calls.chat()).toBe(2);
  });

  it("/v1/messages gets an answer cached by /v1/chat/completions, in Anthropic's format (JSON and stream)", async () => {
    const question = fresh("anthropic");
    const calls = upstreamCalls();
    const miss = await chat(chatBody("cached", question, { max_tokens: 256 }));
    expect(cacheHeader(miss)).toBe("miss");

    const hit = await chat({ model: "cached", max_tokens: 256, messages: [{ role: "user", content: question }] }, { url: messagesUrl() });
    expect(hit.status).toBe(200);
    expect(cacheHeader(hit)).toBe("hit");
    const message = hit.json() as { type: string; role: string; content: { type: string; text: string }[]; stop_reason: string; usage: { input_tokens: number; output_tokens: number } };
    expect(message.type).toBe("message");
    expect(message.role).toBe("assistant");
    expect(message.content).toEqual([{ type: "text", text: assistantText(miss) }]);
    expect(message.stop_reason).toBe("end_turn");
    const { missEvent, hitEvent } = await expectSavingRecorded(miss, hit);
    expect(hitEvent.endpoint).toBe("messages");
    expect(message.usage.output_tokens).toBe(missEvent.usage.outputTokens);

    const streamed = await chat({ model: "cached", max_tokens: 256, stream: true, messages: [{ role: "user", content: question }] }, { url: messagesUrl() });
    expect(streamed.status).toBe(200);
    expect(cacheHeader(streamed)).toBe("hit");
    const events = parseAnthropicStream(streamed.text);
    expect(events[0]!.type).toBe("message_start");
    expect(events.at(-1)!.type).toBe("message_stop");
    const text = events
      .filter((e) => e.type === "content_block_delta")
      .map((e) => (e.data.delta as { type: string; text?: string }).text ?? "")
      .join("");
    expect(text).toBe(assistantText(miss));
    const delta = events.find((e) => e.type === "message_delta");
    expect((delta?.data.delta as { stop_reason?: string }).stop_reason).toBe("end_turn");
    expect(calls.chat()).toBe(1);
  });
});

describe("namespaces", () => {
  it("another organisation's key misses on the same route and body", async () => {
    const question = fresh("org");
    const calls = upstreamCalls();
    expect(cacheHeader(await chat(chatBody("cached", question)))).toBe("miss");
    const other = await chat(chatBody("cached", question), { key: otherOrgKey });
    expect(other.status).toBe(200);
    expect(cacheHeader(other)).toBe("miss");
    expect((await eventOf(other)).cacheStatus).toBe("miss");
    expect(calls.chat()).toBe(2);
    // Each organisation now has its own entry.
    expect(cacheHeader(await chat(chatBody("cached", question), { key: otherOrgKey }))).toBe("hit");
    expect(cacheHeader(await chat(chatBody("cached", question)))).toBe("hit");
    expect(calls.chat()).toBe(2);
  });

  it('scope "team": another team of the same org misses; scope "org": it hits', async () => {
    const question = fresh("team");
    const calls = upstreamCalls();
    expect(cacheHeader(await chat(chatBody("cached-team", question)))).toBe("miss");
    expect(cacheHeader(await chat(chatBody("cached-team", question), { key: otherTeamKey }))).toBe("miss");
    expect(cacheHeader(await chat(chatBody("cached-team", question)))).toBe("hit");
    expect(calls.chat()).toBe(2);

    expect(cacheHeader(await chat(chatBody("cached", question)))).toBe("miss");
    const sameOrg = await chat(chatBody("cached", question), { key: otherTeamKey });
    expect(cacheHeader(sameOrg)).toBe("hit");
    expect((await eventOf(sameOrg)).cacheStatus).toBe("hit");
    expect(calls.chat()).toBe(3);
  });

  it("two routes never share answers", async () => {
    const question = fresh("routes");
    const calls = upstreamCalls();
    expect(cacheHeader(await chat(chatBody("cached", question)))).toBe("miss");
    expect(cacheHeader(await chat(chatBody("cached-team", question)))).toBe("miss");
    expect(calls.chat()).toBe(2);
  });
});

describe("what is stored, and for how long", () => {
  it("ttlSeconds 1: a hit at once, a miss after the TTL", async () => {
    const question = fresh("ttl");
    const calls = upstreamCalls();
    expect(cacheHeader(await chat(chatBody("cached-short", question)))).toBe("miss");
    expect(cacheHeader(await chat(chatBody("cached-short", question)))).toBe("hit");
    await new Promise((r) => setTimeout(r, 1200));
    expect(cacheHeader(await chat(chatBody("cached-short", question)))).toBe("miss");
    expect(calls.chat()).toBe(2);
  });

  it("x-switchyard-cache: no-cache fetches a fresh answer and stores it", async () => {
    const question = fresh("no-cache");
    const calls = upstreamCalls();
    const refresh = await chat(chatBody("cached", question), { headers: { "x-switchyard-cache": "no-cache" } });
    expect(refresh.status).toBe(200);
    expect((await eventOf(refresh)).cacheStatus).toBe("bypass");
    expect(calls.chat()).toBe(1);
    // Stored: a plain request hits.
    expect(cacheHeader(await chat(chatBody("cached", question)))).toBe("hit");
    expect(calls.chat()).toBe(1);
    // Cached, yet no-cache goes upstream again.
    const again = await chat(chatBody("cached", question), { headers: { "x-switchyard-cache": "no-cache" } });
    expect(again.status).toBe(200);
    expect(cacheHeader(again)).not.toBe("hit");
    expect(calls.chat()).toBe(2);
  });

  it("x-switchyard-cache: no-store fetches a fresh answer and stores nothing", async () => {
    const question = fresh("no-store");
    const calls = upstreamCalls();
    const fetched = await chat(chatBody("cached", question), { headers: { "x-switchyard-cache": "no-store" } });
    expect(fetched.status).toBe(200);
    expect((await eventOf(fetched)).cacheStatus).toBe("bypass");
    expect(calls.chat()).toBe(1);
    expect(cacheHeader(await chat(chatBody("cached", question)))).toBe("miss");
    expect(calls.chat()).toBe(2);
    // Now cached; no-store does not read it either.
    const skipped = await chat(chatBody("cached", question), { headers: { "x-switchyard-cache": "NO-STORE" } });
    expect(cacheHeader(skipped)).not.toBe("hit");
    expect(calls.chat()).toBe(3);
  });

  it("a failed upstream answer is never cached", async () => {
    const question = fresh("failed");
    const calls = upstreamCalls();
    h.mock.setFault("status:500");
    const failed = await chat(chatBody("cached-once", question));
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(calls.chat()).toBe(1);
    h.mock.clearFaults();
    const next = await chat(chatBody("cached-once", question));
    expect(next.status).toBe(200);
    expect(cacheHeader(next)).toBe("miss");
    expect(calls.chat()).toBe(2);
    expect(cacheHeader(await chat(chatBody("cached-once", question)))).toBe("hit");
    expect(calls.chat()).toBe(2);
  });

  it("a stream cut midway is never cached", async () => {
    const question = fresh("cut");
    const calls = upstreamCalls();
    h.mock.queueFaults(["stream-cut"]);
    const cut = await chat(chatBody("cached", question, { stream: true }));
    expect(cut.text).not.toContain("data: [DONE]");
    expect(cut.text).toContain("upstream_stream_interrupted");
    expect(calls.chat()).toBe(1);
    // The event is recorded once the request is over: its call no longer takes followers.
    expect((await eventOf(cut)).errorClass).toBe("upstream_stream_interrupted");
    const next = await chat(chatBody("cached", question, { stream: true }));
    expect(cacheHeader(next)).toBe("miss");
    expect(parseOpenAiStream(next.text).content.length).toBeGreaterThan(0);
    expect(calls.chat()).toBe(2);
    // The JSON form is not served from the cut stream either; it is served from the complete one.
    expect(cacheHeader(await chat(chatBody("cached", question)))).toBe("hit");
    expect(calls.chat()).toBe(2);
  });

  it("a route without `cache` never caches, until a config change gives it one", async () => {
    const question = fresh("plain");
    const calls = upstreamCalls();
    for (let i = 0; i < 3; i++) {
      const r = await chat(chatBody("plain", question));
      expect(r.status).toBe(200);
      expect(cacheHeader(r)).not.toBe("hit");
      expect((await eventOf(r)).cacheStatus).toBe("miss");
    }
    expect(calls.chat()).toBe(3);

    await h.prisma.route.update({ where: { alias: "plain" }, data: { options: { cache: { ttlSeconds: 60 } } } });
    expect(await running.snapshot.reload()).toBe(true);
    try {
      expect(cacheHeader(await chat(chatBody("plain", question)))).toBe("miss");
      expect(cacheHeader(await chat(chatBody("plain", question)))).toBe("hit");
      expect(calls.chat()).toBe(4);
    } finally {
      await h.prisma.route.update({ where: { alias: "plain" }, data: { options: {} } });
      await running.snapshot.reload();
    }
  });
});

describe("request coalescing", () => {
  it("8 identical concurrent requests: one upstream call, the same answer for all, 1 miss and 7 coalesced at $0", async () => {
    const question = fresh("coalesce");
    const calls = upstreamCalls();
    h.mock.setFault(`slow-first-byte:${SLOW_MS}`);
    const replies = await Promise.all(Array.from({ length: 8 }, () => chat(chatBody("cached", question))));
    expect(calls.chat()).toBe(1);
    for (const r of replies) {
      expect(r.status).toBe(200);
      expect(assistantText(r)).toBe(RECORDED_TEXT);
    }
    const events = await Promise.all(replies.map(eventOf));
    const leaders = events.filter((e) => e.cacheStatus === "miss");
    const followers = events.filter((e) => e.cacheStatus === "coalesced");
    expect(leaders).toHaveLength(1);
    expect(followers).toHaveLength(7);
    const cost = computeCostNanoUsd(leaders[0]!.usage, GPT_PRICE);
    expect(cost).toBeGreaterThan(0n);
    expect(leaders[0]!.costNanoUsd).toBe(cost.toString());
    for (const f of followers) {
      expect(f.costNanoUsd).toBe("0");
      expect(f.requestedCostNanoUsd).toBe(cost.toString());
      expect(f.usage).toEqual(leaders[0]!.usage);
    }
  });

  it("5 identical concurrent streams: one upstream call, every client gets the whole stream", async () => {
    const question = fresh("coalesce-stream");
    const calls = upstreamCalls();
    h.mock.setFault(`slow-first-byte:${SLOW_MS}`);
    const replies = await Promise.all(Array.from({ length: 5 }, () => chat(chatBody("cached", question, { stream: true }))));
    expect(calls.chat()).toBe(1);
    const texts = replies.map((r) => {
      expect(r.status).toBe(200);
      const s = parseOpenAiStream(r.text);
      expect(s.finish).toBe("stop");
      return s.content;
    });
    expect(texts[0]!.length).toBeGreaterThan(0);
    expect(new Set(texts).size).toBe(1);
    const events = await Promise.all(replies.map(eventOf));
    expect(events.filter((e) => e.cacheStatus === "miss")).toHaveLength(1);
    const followers = events.filter((e) => e.cacheStatus === "coalesced");
    expect(followers).toHaveLength(4);
    for (const f of followers) expect(f.costNanoUsd).toBe("0");
  });

  it("coalesced answers say so in x-switchyard-cache (JSON and stream)", async () => {
    // The JSON followers do; the streamed ones fail today (see the report): no
    // x-switchyard-cache, x-switchyard-provider or x-switchyard-model header at all.
    h.mock.setFault(`slow-first-byte:${SLOW_MS}`);
    const question = fresh("coalesce-headers");
    const json = await Promise.all(Array.from({ length: 3 }, () => chat(chatBody("cached", question))));
    expect(json.map(cacheHeader).sort()).toEqual(["hit", "hit", "miss"]);
    const streams = await Promise.all(Array.from({ length: 3 }, () => chat(chatBody("cached", fresh("coalesce-headers-stream"), { stream: true }))));
    // Distinct questions above would not coalesce; these do.
    expect(streams.map(cacheHeader)).toEqual(["miss", "miss", "miss"]);
    const same = fresh("coalesce-headers-same");
    const coalesced = await Promise.all(Array.from({ length: 3 }, () => chat(chatBody("cached", same, { stream: true }))));
    expect(coalesced.map(cacheHeader).sort()).toEqual(["hit", "hit", "miss"]);
    for (const r of coalesced) expect(r.headers["x-switchyard-model"]).toBe("gpt-4o-mini");
  });

  it("different bodies in flight at once are not coalesced", async () => {
    const calls = upstreamCalls();
    h.mock.setFault(`slow-first-byte:${SLOW_MS}`);
    const replies = await Promise.all([0, 1, 2].map((i) => chat(chatBody("cached", fresh(`distinct-${i}`)))));
    expect(calls.chat()).toBe(3);
    const events = await Promise.all(replies.map(eventOf));
    expect(events.map((e) => e.cacheStatus)).toEqual(["miss", "miss", "miss"]);
  });
});

describe("semantic cache", () => {
  const cosine = (a: string, b: string) => {
    const va = lexicalEmbedding(a, 256)!;
    const vb = lexicalEmbedding(b, 256)!;
    return va.reduce((s, x, i) => s + x * vb[i]!, 0);
  };
  /** The system prompt makes the test's own context: requests of other tests never match it. */
  const semanticBody = (system: string, content: string, extra: Record<string, unknown> = {}) => ({
    model: "semantic",
    messages: [
      { role: "system", content: system },
      { role: "user", content },
    ],
    temperature: 0,
    ...extra,
  });

  it("the chosen paraphrases score at or above the route threshold with the lexical embedder", () => {
    expect(cosine(PARAPHRASE.a, PARAPHRASE.b)).toBeGreaterThanOrEqual(SEMANTIC.threshold);
    expect(cosine(PARAPHRASE.a, PARAPHRASE.b)).toBeLessThan(0.999);
    expect(cosine(PARAPHRASE_2.a, PARAPHRASE_2.b)).toBeGreaterThanOrEqual(SEMANTIC.threshold);
    expect(cosine(PARAPHRASE.a, "How do I delete a git branch locally?")).toBeLessThan(SEMANTIC.threshold);
  });

  it("a paraphrase is a semantic hit at $0; ineligible requests, other questions and other orgs miss; embedding calls are billed", async () => {
    const system = fresh("semantic");
    const calls = upstreamCalls();
    const first = await chat(semanticBody(system, PARAPHRASE.a));
    expect(first.status).toBe(200);
    expect(cacheHeader(first)).toBe("miss");
    expect(calls.chat()).toBe(1);
    expect(calls.embeddings()).toBe(1);
    // The embedding call is an event of its own.
    const emb = await usageEventFor(h.queue, `${requestIdOf(first)}-emb`);
    expect(emb.endpoint).toBe("embeddings");
    expect(emb.tags.switchyard).toBe("semantic-cache");
    expect(emb.servedModel).toBe(EMBEDDING_MODEL);
    expect(emb.usage.inputTokens).toBeGreaterThan(0);
    expect(emb.costNanoUsd).toBe(computeCostNanoUsd(emb.usage, EMBED_PRICE).toString());

    // Not eligible: temperature above maxTemperature, or tools. Each goes upstream, no embedding.
    const hot = await chat(semanticBody(system, PARAPHRASE.b, { temperature: 1 }));
    expect(cacheHeader(hot)).toBe("miss");
    expect((await eventOf(hot)).cacheStatus).toBe("miss");
    const tools = [{ type: "function", function: { name: "lookup", description: "Looks a fact up", parameters: { type: "object", properties: { q: { type: "string" } } } } }];
    const withTools = await chat(semanticBody(system, PARAPHRASE.b, { tools }));
    expect(withTools.status).toBe(200);
    expect(cacheHeader(withTools)).toBe("miss");
    expect(calls.chat()).toBe(3);
    expect(calls.embeddings()).toBe(1);

    // Another organisation has an index of its own.
    const otherOrg = await chat(semanticBody(system, PARAPHRASE.b), { key: otherOrgKey });
    expect(cacheHeader(otherOrg)).toBe("miss");
    expect(calls.chat()).toBe(4);

    // The paraphrase, eligible, same org: a semantic hit.
    const hit = await chat(semanticBody(system, PARAPHRASE.b));
    expect(hit.status).toBe(200);
    expect(cacheHeader(hit)).toBe("semantic-hit");
    expect(assistantText(hit)).toBe(assistantText(first));
    expect(calls.chat()).toBe(4);
    await expectSavingRecorded(first, hit, "semantic-hit");
    const hitEmb = await usageEventFor(h.queue, `${requestIdOf(hit)}-emb`);
    expect(hitEmb.endpoint).toBe("embeddings");
    expect(hitEmb.tags.switchyard).toBe("semantic-cache");

    // A different question: a miss.
    const different = await chat(semanticBody(system, "How do I delete a git branch locally?"));
    expect(cacheHeader(different)).toBe("miss");
    expect((await eventOf(different)).cacheStatus).toBe("miss");
    expect(calls.chat()).toBe(5);
  });

  it("another system prompt (context) never matches", async () => {
    const calls = upstreamCalls();
    expect(cacheHeader(await chat(semanticBody(fresh("ctx-a"), PARAPHRASE_2.a)))).toBe("miss");
    expect(cacheHeader(await chat(semanticBody(fresh("ctx-b"), PARAPHRASE_2.b)))).toBe("miss");
    expect(calls.chat()).toBe(2);
  });
});

describe("replicas", () => {
  it("a second replica sees the first one's exact and semantic entries", async () => {
    const system = fresh("replica");
    const exactQuestion = fresh("replica-exact");
    const calls = upstreamCalls();
    const semanticBody = (content: string) => ({
      model: "semantic",
      messages: [
        { role: "system", content: system },
        { role: "user", content },
      ],
      temperature: 0,
    });
    expect(cacheHeader(await chat(chatBody("cached", exactQuestion)))).toBe("miss");
    expect(cacheHeader(await chat(semanticBody(PARAPHRASE_2.a)))).toBe("miss");
    expect(calls.chat()).toBe(2);

    const second = await h.startProxy({ envOverrides: PROXY_ENV });
    // A just booted replica's cache connection may still be connecting (a known gap, see
    // the next test): wait until it serves a hit of an answer stored for this purpose.
    const probe = fresh("replica-probe");
    const probeUrl = `${second.url}/v1/chat/completions`;
    expect(cacheHeader(await chat(chatBody("cached", probe)))).toBe("miss");
    await waitFor(async () => cacheHeader(await chat(chatBody("cached", probe), { url: probeUrl })) === "hit", 5000, "the replica's cache connection");
    const before = calls.chat();
    const exact = await chat(chatBody("cached", exactQuestion), { url: `${second.url}/v1/chat/completions` });
    expect(exact.status).toBe(200);
    expect(cacheHeader(exact)).toBe("hit");
    const near = await chat(semanticBody(PARAPHRASE_2.b), { url: `${second.url}/v1/chat/completions` });
    expect(near.status).toBe(200);
    expect(cacheHeader(near)).toBe("semantic-hit");
    expect((await eventOf(near)).cacheStatus).toBe("semantic-hit");
    expect(calls.chat()).toBe(before);
  });

  it("a replica serves cache hits from its very first request", async () => {
    // Fails today (see the report): boot does not wait for the cache's Redis connection
    // (no offline queue), so a replica's first requests miss and store nothing.
    const question = fresh("first-request");
    expect(cacheHeader(await chat(chatBody("cached", question)))).toBe("miss");
    const third = await h.startProxy({ envOverrides: PROXY_ENV });
    const r = await chat(chatBody("cached", question), { url: `${third.url}/v1/chat/completions` });
    expect(r.status).toBe(200);
    expect(cacheHeader(r)).toBe("hit");
  });
});
