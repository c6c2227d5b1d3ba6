import { describe, expect, it } from "vitest";
import type { ChatCompletionRequest } from "@switchyard/contracts";
import { cacheNamespace, exactCacheBypassReason, exactCacheKey } from "./key";

const acme = cacheNamespace("org", { orgId: "org_acme", teamId: "team_search" });
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } }, required: ["city"] },
  },
};
const base: ChatCompletionRequest = {
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "What is the capital of the UK?" },
  ],
  temperature: 0,
};
const key = (body: Record<string, unknown>, ns = acme, model = "gpt-4o-mini") => exactCacheKey(ns, model, { ...base, ...body });

describe("cacheNamespace", () => {
  it("shares answers across an organisation's teams by default and keeps teams apart with scope team", () => {
    expect(cacheNamespace("org", { orgId: "o1", teamId: "t1" })).toBe(cacheNamespace("org", { orgId: "o1", teamId: "t2" }));
    expect(cacheNamespace("team", { orgId: "o1", teamId: "t1" })).not.toBe(cacheNamespace("team", { orgId: "o1", teamId: "t2" }));
    expect(cacheNamespace("team", { orgId: "o1", teamId: "t1" })).not.toBe(cacheNamespace("org", { orgId: "o1", teamId: "t1" }));
  });
});

describe("exactCacheKey", () => {
  it("is the namespace followed by a sha256", () => {
    expect(key({})).toMatch(/^org:org_acme:[0-9a-f]{64}$/);
  });

  it("ignores key order, at the top and inside messages", () => {
    const reordered = {
      temperature: 0,
      messages: [
        { content: "Be brief.", role: "system" },
        { content: "What is the capital of the UK?", role: "user" },
      ],
      model: "gpt-4o-mini",
    } as ChatCompletionRequest;
    expect(exactCacheKey(acme, "gpt-4o-mini", reordered)).toBe(key({}));
  });

  it("ignores how the answer is delivered and tracked", () => {
    const same = key({});
    expect(key({ stream: true, stream_options: { include_usage: true } })).toBe(same);
    expect(key({ user: "end-user-42", metadata: { run: "7" }, store: true, service_tier: "flex", safety_identifier: "x", prompt_cache_key: "p" })).toBe(same);
    expect(key({ parallel_tool_calls: false, tool_choice: "none", tools: [] })).toBe(same);
    expect(key({ n: 1, logprobs: false, top_p: null, stop: null })).toBe(same);
    // The body's own model field is not what counts: the caller passes the model the client asked for.
    expect(key({ model: "something-else" })).toBe(same);
  });

  it("treats max_tokens and max_completion_tokens as the same limit", () => {
    expect(key({ max_tokens: 200 })).toBe(key({ max_completion_tokens: 200 }));
    expect(key({ max_tokens: 200 })).not.toBe(key({ max_tokens: 201 }));
    expect(key({ max_tokens: 200 })).not.toBe(key({}));
  });

  it("changes with anything that changes the answer", () => {
    const same = key({});
    const variants: Record<string, unknown>[] = [
      { messages: [{ role: "user", content: "What is the capital of France?" }] },
      { messages: [...base.messages, { role: "assistant", content: "London." }] },
      { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "What is the capital of the UK?", name: "bob" }] },
      { temperature: 0.7 },
      { temperature: undefined },
      { top_p: 0.5 },
      { seed: 1 },
      { n: 2 },
      { stop: ["\n"] },
      { response_format: { type: "json_object" } },
      { tools: [weather] },
      { reasoning_effort: "high" },
    ];
    const keys = variants.map((v) => key(v));
    for (const k of keys) expect(k).not.toBe(same);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keeps tool options once there are tools, and a JSON schema's property order", () => {
    const withTools = key({ tools: [weather] });
    expect(key({ tools: [weather], tool_choice: "required" })).not.toBe(withTools);
    expect(key({ tools: [weather], parallel_tool_calls: false })).not.toBe(withTools);
    // Structured outputs write fields in schema order, so a reordered schema is another request.
    const reorderedParams = { ...weather, function: { ...weather.function, parameters: { ...weather.function.parameters, properties: { unit: { type: "string" }, city: { type: "string" } } } } };
    expect(key({ tools: [reorderedParams] })).not.toBe(withTools);
    // ...while the order of the tool definition's own keys does not matter.
    const reorderedTool = { function: { parameters: weather.function.parameters, name: "get_weather" }, type: "function" };
    expect(key({ tools: [reorderedTool] })).toBe(withTools);
  });

  it("never shares answers between organisations, teams or models", () => {
    const other = cacheNamespace("org", { orgId: "org_globex", teamId: "team_search" });
    const team = cacheNamespace("team", { orgId: "org_acme", teamId: "team_search" });
    expect(key({}, other)).not.toBe(key({}));
    expect(key({}, team)).not.toBe(key({}));
    expect(key({}, acme, "fast-route")).not.toBe(key({}));
  });
});

describe("exactCacheBypassReason", () => {
  it("bypasses requests for logprobs, which a replay cannot reproduce", () => {
    expect(exactCacheBypassReason({ ...base, logprobs: true })).toBe("logprobs");
    expect(exactCacheBypassReason(base)).toBeNull();
  });
});
