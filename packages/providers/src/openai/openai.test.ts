import { describe, expect, it } from "vitest";
import { openAiUsageSchema, type ChatCompletionRequest } from "@switchyard/contracts";
import { expectedStreamBody, loadFixtures } from "@switchyard/mock-upstream/fixtures";
import { getProviderAdapter } from "../index";
import { openAiAdapter, openAiCompatibleAdapter, type OpenAiStreamState } from "./index";
import { toTokenUsage } from "./usage";
import { mayHaveContent, usageObjectAt } from "./stream";

const fx = loadFixtures();
const target = { baseUrl: null, apiKey: "sk-provider", upstreamModel: "gpt-4o-2024-08-06" };

/** Feeds a recorded stream in pieces of `size` characters and collects what would be forwarded. */
function replay(raw: string, clientWantsUsage: boolean, size: number) {
  let state: OpenAiStreamState = openAiAdapter.initStreamState({ clientWantsUsage });
  let output = "";
  let firstContentAt = -1;
  let i = 0;
  for (; i < raw.length; i += size) {
    const step = openAiAdapter.transformStream(state, raw.slice(i, i + size));
    state = step.state;
    output += step.output;
    if (step.firstContent) firstContentAt = i;
  }
  const end = openAiAdapter.finishStream(state);
  return { state: end.state, output: output + end.output, firstContentAt };
}

describe("openai adapter: requests", () => {
  it("swaps the model, keeps unknown fields, authenticates with the provider key only", () => {
    const request = fx.toolCall[0]?.request as ChatCompletionRequest;
    const prepared = openAiAdapter.prepareChatRequest({ ...request, model: "public-name" }, target);
    expect(prepared.http.url).toBe("https://api.openai.com/v1/chat/completions");
    expect(prepared.http.headers.authorization).toBe("Bearer sk-provider");
    const body = JSON.parse(prepared.http.body) as Record<string, unknown>;
    expect(body).toEqual({ ...request, model: "gpt-4o-2024-08-06" });
    expect(prepared.stream).toBe(false);
  });

  it("forces include_usage on streams and remembers whether the client asked", () => {
    const base = { model: "m", messages: [{ role: "user" as const, content: "hi" }], stream: true };
    const asked = openAiAdapter.prepareChatRequest({ ...base, stream_options: { include_usage: true } }, target);
    const silent = openAiAdapter.prepareChatRequest(base, target);
    expect(asked.clientWantsUsage).toBe(true);
    expect(silent.clientWantsUsage).toBe(false);
    expect(JSON.parse(silent.http.body)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(silent.http.headers.accept).toBe("text/event-stream");
  });

  it("openai-compatible needs a base URL and tolerates a trailing slash", () => {
    const req = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };
    expect(() => openAiCompatibleAdapter.prepareChatRequest(req, target)).toThrow(/baseUrl/);
    const p = openAiCompatibleAdapter.prepareChatRequest(req, { ...target, baseUrl: "http://127.0.0.1:11434/v1/", apiKey: null });
    expect(p.http.url).toBe("http://127.0.0.1:11434/v1/chat/completions");
    expect(p.http.headers.authorization).toBeUndefined();
    expect(getProviderAdapter("openai-compatible")).toBe(openAiCompatibleAdapter);
    expect(getProviderAdapter("no-such-provider")).toBeNull();
  });
});

describe("openai adapter: usage from recorded responses", () => {
  it("reads a plain completion", () => {
    expect(openAiAdapter.extractChatUsage(JSON.parse(fx.chatText))).toEqual({
      inputTokens: 16,
      outputTokens: 363,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
  });
  it("reads cached prompt tokens", () => {
    expect(openAiAdapter.extractChatUsage(JSON.parse(fx.chatCachedTokens))).toMatchObject({ inputTokens: 1248, outputTokens: 10, cachedInputTokens: 1152 });
  });
  it("reads a tool-call completion and returns null without usage", () => {
    expect(openAiAdapter.extractChatUsage(JSON.parse(fx.toolCall[1]?.responseBody ?? ""))).toMatchObject({ inputTokens: 89, outputTokens: 36 });
    expect(openAiAdapter.extractChatUsage({ choices: [] })).toBeNull();
  });
});

describe("openai adapter: stream transform over recorded streams", () => {
  for (const size of [1, 13, 100_000]) {
    it(`forwards every event byte for byte and takes usage from the final chunk (pieces of ${size})`, () => {
      const r = replay(fx.chatTextStream, true, size);
      expect(r.output).toBe(fx.chatTextStream);
      expect(r.state.usage).toEqual({ inputTokens: 1248, outputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
      expect(openAiAdapter.streamCompleted(r.state)).toBe(true);
      expect(r.firstContentAt).toBeGreaterThanOrEqual(0);
      // The role-only first chunk (content "") is not content; "Hello" is.
      if (size === 1) expect(r.firstContentAt).toBeGreaterThan(fx.chatTextStream.indexOf('"content":"Hello"'));
    });
  }

  it("drops the usage-only chunk the client did not ask for, but still reads usage from it", () => {
    const r = replay(fx.chatTextStream, false, 50);
    expect(r.output).toBe(expectedStreamBody(fx.chatTextStream, false).replace(/\n\n$/, ""));
    expect(r.output).not.toContain('"prompt_tokens"');
    expect(r.state.usage?.inputTokens).toBe(1248);
  });

  it("counts tool-call deltas as first content and reads the tool stream usage", () => {
    const raw = fx.toolCallStream[0]?.responseBody ?? "";
    const r = replay(raw, true, 64);
    expect(r.output).toBe(raw);
    expect(r.state.sawContent).toBe(true);
    expect(r.state.usage).toMatchObject({ inputTokens: 53, outputTokens: 15 });
  });

  it("parses only the chunks after the first content that can carry usage, whatever their spacing", () => {
    const chunk = (extra: string) => `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"}}]${extra}}\n\n`;
    const usageChunk = 'data: {"id":"c","choices":[], "usage" : { "prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10 }}\n\n';
    // A content string that mentions usage cannot fool it (quotes are escaped inside strings).
    const trap = 'data: {"id":"c","choices":[{"index":0,"delta":{"content":"\\"usage\\": {\\"prompt_tokens\\": 999}"}}],"usage":null}\n\n';
    const raw = chunk("") + chunk(',"usage":null') + trap + usageChunk + "data: [DONE]\n\n";
    for (const size of [1, 9, 1000]) {
      const r = replay(raw, true, size);
      expect(r.output).toBe(raw);
      expect(r.state.usage).toMatchObject({ inputTokens: 7, outputTokens: 3 });
      const hidden = replay(raw, false, size);
      expect(hidden.output).toBe(raw.replace(usageChunk, ""));
    }
  });

  it("reports a stream cut before [DONE] as incomplete", () => {
    const raw = fx.chatTextStream;
    const r = replay(raw.slice(0, raw.indexOf('"content":" can"')), true, 40);
    expect(openAiAdapter.streamCompleted(r.state)).toBe(false);
    expect(openAiAdapter.streamUsage(r.state)).toBeNull();
  });
});

describe("openai adapter: errors", () => {
  it("passes the recorded 400 through with the provider's fields", () => {
    const e = openAiAdapter.classifyError(400, fx.chatError400);
    expect(e).toMatchObject({
      kind: "invalid_request",
      clientStatus: 400,
      retryable: false,
      code: "unsupported_parameter",
      param: "max_tokens",
      type: "invalid_request_error",
    });
    expect(e.message).toContain("max_completion_tokens");
  });
  it("maps provider auth failures and 5xx to 502, overload to 503, 408 to 504, keeps 429", () => {
    expect(openAiAdapter.classifyError(401, "{}")).toMatchObject({ clientStatus: 502, kind: "auth", retryable: false });
    expect(openAiAdapter.classifyError(403, "{}")).toMatchObject({ clientStatus: 502, kind: "permission", retryable: false });
    expect(openAiAdapter.classifyError(500, "not json")).toMatchObject({ clientStatus: 502, retryable: true, message: null, errorClass: "upstream_server_error" });
    expect(openAiAdapter.classifyError(503, "")).toMatchObject({ clientStatus: 503, kind: "overloaded", retryable: true });
    expect(openAiAdapter.classifyError(408, "")).toMatchObject({ clientStatus: 504, retryable: true });
    expect(openAiAdapter.classifyError(429, '{"error":{"message":"slow down"}}')).toMatchObject({ clientStatus: 429, message: "slow down", kind: "rate_limited" });
  });
  it("recognises context-length and content-filter refusals in a 400", () => {
    const ctx = '{"error":{"message":"This model\'s maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}';
    expect(openAiAdapter.classifyError(400, ctx)).toMatchObject({ kind: "context_length_exceeded", clientStatus: 400, retryable: false });
    const filtered = '{"error":{"message":"The response was filtered","type":null,"code":"content_filter"}}';
    expect(openAiAdapter.classifyError(400, filtered)).toMatchObject({ kind: "content_filtered", clientStatus: 400 });
    expect(openAiAdapter.classifyError(404, "{}")).toMatchObject({ kind: "not_found", clientStatus: 404 });
  });
});

describe("openai usage: the fast path agrees with the schema", () => {
  // What the schema alone says, mapped the same way: the reference the fast path must match.
  const bySchema = (u: unknown) => {
    if (u == null) return null;
    const p = openAiUsageSchema.safeParse(u);
    if (!p.success) return null;
    return {
      inputTokens: p.data.prompt_tokens,
      outputTokens: p.data.completion_tokens,
      cachedInputTokens: p.data.prompt_tokens_details?.cached_tokens ?? 0,
      cacheWriteTokens: 0,
      reasoningTokens: p.data.completion_tokens_details?.reasoning_tokens ?? 0,
    };
  };
  const recorded = [fx.chatText, ...fx.toolCall.map((t) => t.responseBody)]
    .map((body) => (JSON.parse(body) as { usage?: unknown }).usage)
    .filter((u) => u !== undefined);
  const cases: unknown[] = [
    ...recorded,
    { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    { prompt_tokens: 10 }, // completion_tokens defaults to 0
    { prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 1 } },
    { prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: null, completion_tokens_details: { reasoning_tokens: null } },
    { prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: { audio_tokens: 3 } },
    { prompt_tokens: 10, completion_tokens: 2, total_tokens: null },
    { prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: [] },
    { prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: { cached_tokens: -1 } },
    { prompt_tokens: 10, completion_tokens: 2, completion_tokens_details: "x" },
    { prompt_tokens: 1.5, completion_tokens: 2 },
    { prompt_tokens: -1, completion_tokens: 2 },
    { prompt_tokens: "10", completion_tokens: 2 },
    { prompt_tokens: 2 ** 60, completion_tokens: 2 },
    { completion_tokens: 2 },
    [],
    "usage",
    7,
    null,
  ];

  it.each(cases.map((c, i) => [i, c]))("case %i", (_i, usage) => {
    expect(toTokenUsage(usage)).toEqual(bySchema(usage));
  });

  it("the recorded responses are among the cases and carry usage", () => {
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.every((u) => toTokenUsage(u) !== null)).toBe(true);
  });
});

describe("openai stream: events after the first content are forwarded without being split", () => {
  const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
  const usageOnly = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } })}\n\n`;
  const started = () => openAiAdapter.transformStream(openAiAdapter.initStreamState({ clientWantsUsage: false }), chunk("Hi")).state;

  it("forwards plain events as they came, then still drops the usage-only chunk, reads usage and sees [DONE]", () => {
    const plain = chunk(" there") + chunk("[DONE] is only text here") + ": a comment\n\n" + chunk("!");
    const step = openAiAdapter.transformStream(started(), plain + usageOnly + "data: [DONE]\n\n");
    expect(step.output).toBe(plain + "data: [DONE]\n\n");
    expect(openAiAdapter.streamUsage(step.state)).toMatchObject({ inputTokens: 7, outputTokens: 3 });
    expect(openAiAdapter.streamCompleted(step.state)).toBe(true);
  });

  it("from a stream's first byte: the same output and state in one piece as in many, whatever comes before the first content", () => {
    const role = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }] })}\n\n`;
    const bodies = [
      role + chunk("Hi") + chunk(" there") + usageOnly + "data: [DONE]\n\n",
      ": comment\n\n" + role + "\n" + chunk("Hi") + "\n\n" + chunk(" there") + usageOnly + "data: [DONE]\n\n",
      (role + chunk("Hi") + usageOnly + "data: [DONE]\n\n").replace(/\n/g, "\r\n"),
      role + usageOnly + "data: [DONE]\n\n", // no content at all
      role + chunk("Hi") + chunk(" cut"), // ends without [DONE] and without its last blank line
    ];
    for (const clientWantsUsage of [false, true]) {
      for (const body of bodies) {
        const results = [1, 7, 50, body.length].map((size) => {
          let state = openAiAdapter.initStreamState({ clientWantsUsage });
          let output = "";
          let firstContentAt = -1;
          for (let i = 0; i < body.length; i += size) {
            const step = openAiAdapter.transformStream(state, body.slice(i, i + size));
            state = step.state;
            if (step.firstContent) firstContentAt = output.length;
            output += step.output;
          }
          const end = openAiAdapter.finishStream(state);
          return { output: output + end.output, firstContentAt: firstContentAt >= 0, usage: openAiAdapter.streamUsage(end.state), done: openAiAdapter.streamCompleted(end.state) };
        });
        for (const r of results) expect(r).toEqual(results[0]);
        expect(results[0]!.firstContentAt).toBe(body.includes('"Hi"'));
        expect(results[0]!.output.includes('"choices":[]')).toBe(clientWantsUsage && body.includes('"choices":[]'));
      }
    }
  });

  it("gives the same output and state whatever the pieces, blank-line runs and CRLF included", () => {
    const bodies = [
      chunk(" a") + chunk(" b") + usageOnly + "data: [DONE]\n\n",
      chunk(" a") + "\n" + chunk(" b") + usageOnly + "data: [DONE]\n\n",
      (chunk(" a") + chunk(" b") + usageOnly + "data: [DONE]\n\n").replace(/\n/g, "\r\n"),
    ];
    for (const body of bodies) {
      const results = [1, 7, 50, body.length].map((size) => {
        let state = started();
        let output = "";
        for (let i = 0; i < body.length; i += size) {
          const step = openAiAdapter.transformStream(state, body.slice(i, i + size));
          state = step.state;
          output += step.output;
        }
        const end = openAiAdapter.finishStream(state);
        return { output: output + end.output, usage: openAiAdapter.streamUsage(end.state), done: openAiAdapter.streamCompleted(end.state) };
      });
      for (const r of results) expect(r).toEqual(results[0]);
      expect(results[0]!.usage).toMatchObject({ inputTokens: 7 });
      expect(results[0]!.done).toBe(true);
      expect(results[0]!.output).not.toContain('"choices":[]');
    }
  });
});

describe("usageObjectAt", () => {
  it("finds a usage key that opens an object, and only that", () => {
    expect(usageObjectAt('{"usage":null,"x":1}')).toBe(-1);
    expect(usageObjectAt('{"usage":null,"usage":{"a":1}}')).toBe(14);
    expect(usageObjectAt('{"a":1, "usage" :\n\t{ }')).toBe(8);
    expect(usageObjectAt('{"content":"\\"usage\\": {"}')).toBe(-1);
    expect(usageObjectAt('{"usage": [1]}')).toBe(-1);
    expect(usageObjectAt('{"usage"')).toBe(-1);
    expect(usageObjectAt('"usage":{', 1)).toBe(-1);
    expect(usageObjectAt('"usage":{')).toBe(0);
    expect(usageObjectAt('x"usage":{', 1)).toBe(1);
    expect(usageObjectAt('{"total_usage":{"a":1}}')).toBe(-1);
    expect(usageObjectAt('usage":{')).toBe(-1);
  });

  it("agrees with a position-by-position search on random text", () => {
    // The reference: at each index from `from`, `"usage"`, JSON whitespace, `:`, whitespace, `{`.
    const reference = (text: string, from: number) => {
      for (let at = from; at < text.length; at++) {
        if (!text.startsWith('"usage"', at)) continue;
        const m = /^[ \t\n\r]*:[ \t\n\r]*\{/.exec(text.slice(at + 7));
        if (m) return at;
      }
      return -1;
    };
    const pieces = ['"usage"', '"usage":{', "usage", '"', ":", "{", ": {", " ", "\n", "null", "_", "\\", "x"];
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let found = 0;
    for (let k = 0; k < 2000; k++) {
      let text = "";
      for (let j = next(24); j > 0; j--) text += pieces[next(pieces.length)];
      const from = next(4);
      const expected = reference(text, from);
      if (expected !== -1) found++;
      expect(usageObjectAt(text, from), JSON.stringify([text, from])).toBe(expected);
    }
    expect(found).toBeGreaterThan(100);
  });
});

describe("mayHaveContent", () => {
  it("is false only where no content-like key holds a non-empty string or array", () => {
    const role = '{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}';
    expect(mayHaveContent(role)).toBe(false);
    // Delta bodies, and whether a content-like key in them holds a non-empty string or array.
    const deltas: [string, boolean][] = [
      ['"content":"Hello"', true],
      ['"content" :\n "x"', true],
      ['"content":"\\n"', true],
      ['"content":"\\""', true],
      ['"tool_calls":[]', false],
      ['"tool_calls":[ ]', false],
      ['"tool_calls":[{"index":0}]', true],
      ['"refusal":"no"', true],
      ['"reasoning_content":"hm","content":null', true],
      ['"reasoning_content":"","content":{}', false],
    ];
    for (const [delta, expected] of deltas) expect(mayHaveContent(`{"choices":[{"delta":{${delta}}}]}`), delta).toBe(expected);
    // A key mentioned inside a string is not a key (its quotes are escaped).
    expect(mayHaveContent('{"choices":[{"delta":{"role":"assistant"}}],"note":"\\"content\\":\\"x\\""}')).toBe(false);
    // Somewhere else than a delta: parse to know.
    expect(mayHaveContent('{"choices":[{"delta":{},"logprobs":{"content":[{"token":"a"}]}}]}')).toBe(true);
    expect(mayHaveContent('{"choices":[{"delta":{"content":"')).toBe(true);
  });

  it("never says no to a chunk JSON.parse finds content in (random deltas, random spacing)", () => {
    const values: unknown[] = [undefined, null, "", "x", "\"", [], [{ index: 0 }], {}, 0];
    const reference = (delta: Record<string, unknown>) =>
      ["content", "tool_calls", "refusal", "reasoning_content"].some((k) => {
        const v = delta[k];
        return (typeof v === "string" || Array.isArray(v)) && v.length > 0;
      });
    let seed = 7;
    const pick = <T>(xs: readonly T[]) => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length]!;
    let positives = 0;
    for (let n = 0; n < 3000; n++) {
      const delta: Record<string, unknown> = {};
      for (const k of ["role", "content", "tool_calls", "refusal", "reasoning_content"]) {
        const v = k === "role" ? pick([undefined, "assistant"]) : pick(values);
        if (v !== undefined) delta[k] = v;
      }
      const text = JSON.stringify({ id: "c", choices: [{ index: 0, delta }], usage: null }, null, pick([0, 1, 2]));
      const expected = reference(delta);
      if (expected) positives++;
      // Keys only inside the delta: the quick answer is exact, both ways.
      expect(mayHaveContent(text), text).toBe(expected);
    }
    expect(positives).toBeGreaterThan(500);
  });
});
