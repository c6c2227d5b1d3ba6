import { describe, expect, it } from "vitest";
import type { ChatCompletionChunk, ChatCompletionRequest } from "@switchyard/contracts";
import { loadMistralFixtures, mistralSseFromChunks } from "@switchyard/mock-upstream/fixtures-mistral";
import { getProviderAdapter } from "../index";
import { mistralAdapter, type MistralStreamState } from "./index";

const fx = loadMistralFixtures();
const target = { baseUrl: null, apiKey: "mistral-key", upstreamModel: "mistral-small-latest" };

/** Feeds a stream in pieces of `size` characters; returns the forwarded text and the parsed chunks. */
function replay(raw: string, clientWantsUsage: boolean, size: number) {
  let state: MistralStreamState = mistralAdapter.initStreamState({ clientWantsUsage });
  let output = "";
  let firstContentAt = -1;
  for (let i = 0; i < raw.length; i += size) {
    const step = mistralAdapter.transformStream(state, raw.slice(i, i + size));
    state = step.state;
    output += step.output;
    if (step.firstContent) firstContentAt = i;
  }
  const end = mistralAdapter.finishStream(state);
  output += end.output;
  const events = output.split("\n\n").filter((e) => e !== "");
  for (const e of events) expect(e.startsWith("data: ")).toBe(true);
  const datas = events.map((e) => e.slice("data: ".length));
  const chunks = datas.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as ChatCompletionChunk);
  return { state: end.state, output, chunks, lastEvent: datas.at(-1), firstContentAt };
}

function collect(chunks: ChatCompletionChunk[]) {
  let content = "";
  let reasoning = "";
  let finish: string | null = null;
  const tools = new Map<number, { id?: string; type?: string; name: string; args: string }>();
  for (const c of chunks) {
    for (const ch of c.choices) {
      if (typeof ch.delta.content === "string") content += ch.delta.content;
      reasoning += ch.delta.reasoning_content ?? "";
      if (ch.finish_reason) finish = ch.finish_reason;
      for (const t of ch.delta.tool_calls ?? []) {
        const cur = tools.get(t.index) ?? { name: "", args: "" };
        if (t.id) cur.id = t.id;
        if (t.type) cur.type = t.type;
        cur.name += t.function?.name ?? "";
        cur.args += t.function?.arguments ?? "";
        tools.set(t.index, cur);
      }
    }
  }
  return { content, reasoning, finish, tools: [...tools.entries()] };
}

/** What the recording itself says, read independently of the adapter. */
function recordedStreamText(raw: string) {
  let content = "";
  let thinking = "";
  for (const line of raw.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    const delta = (JSON.parse(line.slice(6)) as { choices: { delta: { content?: unknown } }[] }).choices[0]?.delta.content;
    if (typeof delta === "string") content += delta;
    else if (Array.isArray(delta)) for (const p of delta as { thinking: { text: string }[] }[]) thinking += p.thinking.map((t) => t.text).join("");
  }
  return { content, thinking };
}

describe("mistral adapter: requests", () => {
  it("is registered and calls /v1/chat/completions with Bearer auth", () => {
    expect(getProviderAdapter("mistral")).toBe(mistralAdapter);
    const p = mistralAdapter.prepareChatRequest({ model: "m", messages: [{ role: "user", content: "hi" }] }, target);
    expect(p.http.url).toBe("https://api.mistral.ai/v1/chat/completions");
    expect(p.http.headers.authorization).toBe("Bearer mistral-key");
    expect(JSON.parse(p.http.body)).toEqual({ model: "mistral-small-latest", messages: [{ role: "user", content: "hi" }] });
    const own = mistralAdapter.prepareChatRequest({ model: "m", messages: [{ role: "user", content: "hi" }] }, { ...target, baseUrl: "http://127.0.0.1:9/v1/" });
    expect(own.http.url).toBe("http://127.0.0.1:9/v1/chat/completions");
  });

  it("renames what Mistral spells differently and drops (and reports) what it would reject", () => {
    const request = {
      model: "m",
      messages: [{ role: "user" as const, content: "hi" }],
      seed: 7,
      max_completion_tokens: 100,
      tool_choice: "required",
      temperature: 0.2,
      top_p: 0.9,
      stop: ["END"],
      n: 1,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } },
      parallel_tool_calls: false,
      user: "u-1",
      logprobs: true,
      logit_bias: { "1": 2 },
      store: false,
      stream: true,
      stream_options: { include_usage: true },
    } satisfies ChatCompletionRequest;
    const p = mistralAdapter.prepareChatRequest(request, target);
    expect(JSON.parse(p.http.body)).toEqual({
      model: "mistral-small-latest",
      messages: [{ role: "user", content: "hi" }],
      random_seed: 7,
      max_tokens: 100,
      tool_choice: "any",
      temperature: 0.2,
      top_p: 0.9,
      stop: ["END"],
      n: 1,
      response_format: request.response_format,
      parallel_tool_calls: false,
      stream: true,
    });
    expect(p.droppedParams.sort()).toEqual(["logit_bias", "logprobs", "store", "user"]);
    expect(p.stream).toBe(true);
    expect(p.clientWantsUsage).toBe(true);
    expect(p.http.headers.accept).toBe("text/event-stream");
  });

  it("replays the recorded image + tool-result conversation in Mistral's own shape, minus fields it forbids", () => {
    const recorded = fx.visionImageUrl[1]!.request as { messages: Record<string, unknown>[] };
    // What an OpenAI SDK user sends for the same turns: developer role, echoed assistant fields, null content.
    const openAiMessages = [
      { role: "developer", content: "Be brief." },
      recorded.messages[0],
      { role: "assistant", content: null, refusal: null, annotations: [], tool_calls: [{ id: "6IgxW8LfZ", type: "function", function: { name: "get_file", arguments: "{}" } }] },
      recorded.messages[2],
      { role: "assistant", content: "OK", name: "bot" },
      recorded.messages[4],
    ] as ChatCompletionRequest["messages"];
    const body = JSON.parse(mistralAdapter.prepareChatRequest({ model: "m", messages: openAiMessages }, target).http.body) as { messages: unknown[] };
    expect(body.messages).toEqual([
      { role: "system", content: "Be brief." },
      recorded.messages[0],
      { role: "assistant", content: null, tool_calls: [{ id: "6IgxW8LfZ", type: "function", function: { name: "get_file", arguments: "{}" } }] },
      { role: "tool", content: "See file 6a18c6.", tool_call_id: "6IgxW8LfZ" },
      { role: "assistant", content: "OK" },
      recorded.messages[4], // the image_url part goes through as Mistral recorded it
    ]);
  });
});

describe("mistral adapter: refusals", () => {
  it("refuses the legacy function role with a 400 naming it (Mistral would answer 422)", () => {
    const fn = { model: "m", messages: [{ role: "user" as const, content: "x" }, { role: "function" as const, name: "f", content: "{}" }] };
    expect(() => mistralAdapter.prepareChatRequest(fn, target)).toThrow(expect.objectContaining({ status: 400, param: "messages[1].role" }) as Error);
  });
});

describe("mistral adapter: replies from recordings", () => {
  it("translates the text reply and its usage", () => {
    const body = JSON.parse(fx.text) as { choices: { message: { content: string } }[] };
    const out = mistralAdapter.translateChatResponse(body, { model: "public" });
    expect(out).toMatchObject({ id: "5319bd0299614c679a0068a4f2c8ffd0", object: "chat.completion", model: "mistral-small-latest", created: 1769088720 });
    expect(out?.choices[0]).toMatchObject({ index: 0, finish_reason: "stop", message: { role: "assistant", content: body.choices[0]!.message.content } });
    expect(out?.choices[0]?.message.tool_calls).toBeUndefined();
    expect(out?.usage).toEqual({ prompt_tokens: 13, completion_tokens: 434, total_tokens: 447, prompt_tokens_details: { cached_tokens: 0 } });
    expect(mistralAdapter.extractChatUsage(body)).toEqual({ inputTokens: 13, outputTokens: 434, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it("adds the `type` Mistral leaves off tool calls", () => {
    const out = mistralAdapter.translateChatResponse(JSON.parse(fx.toolCall), { model: "public" });
    expect(out?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(out?.choices[0]?.message).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "gSIMJiOkT", type: "function", function: { name: "weather", arguments: '{"location": "San Francisco"}' } }],
    });
    expect(out?.usage).toMatchObject({ prompt_tokens: 124, completion_tokens: 22 });
  });

  it("reads num_cached_tokens as cached input (vision reply)", () => {
    const body = JSON.parse(fx.visionImageUrl[1]!.responseBody) as unknown;
    expect(mistralAdapter.extractChatUsage(body)).toEqual({ inputTokens: 273, outputTokens: 104, cachedInputTokens: 32, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(mistralAdapter.translateChatResponse(body, { model: "p" })?.usage?.prompt_tokens_details).toEqual({ cached_tokens: 32 });
    expect(mistralAdapter.translateChatResponse({ choices: "x" }, { model: "p" })).toBeNull();
    expect(mistralAdapter.extractChatUsage({})).toBeNull();
  });

  it("turns typed content arrays into string content and reasoning_content", () => {
    const body = {
      id: "x",
      created: 1,
      model: "magistral-medium-latest",
      choices: [{ index: 0, finish_reason: "model_length", message: { role: "assistant", content: [{ type: "thinking", thinking: [{ type: "text", text: "hmm" }] }, { type: "text", text: "Answer" }] } }],
    };
    expect(mistralAdapter.translateChatResponse(body, { model: "p" })?.choices[0]).toMatchObject({
      finish_reason: "length",
      message: { content: "Answer", reasoning_content: "hmm" },
    });
  });
});

describe("mistral adapter: streams from recordings", () => {
  const raw = fx.reasoningStream;
  const expected = recordedStreamText(raw);

  for (const size of [1, 7, 64, 1_000_000]) {
    it(`maps thinking arrays to reasoning_content, keeps text, moves usage to its own chunk (pieces of ${size})`, () => {
      const r = replay(raw, true, size);
      const got = collect(r.chunks);
      expect(expected.thinking.length).toBeGreaterThan(100);
      expect(got.reasoning).toBe(expected.thinking);
      expect(got.content).toBe(expected.content);
      expect(got.finish).toBe("stop");
      for (const c of r.chunks) for (const ch of c.choices) expect(ch.delta.content === undefined || typeof ch.delta.content === "string").toBe(true);
      const usageChunks = r.chunks.filter((c) => c.usage);
      expect(usageChunks).toHaveLength(1);
      expect(usageChunks[0]).toMatchObject({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 232, total_tokens: 242 } });
      expect(r.lastEvent).toBe("[DONE]");
      expect(r.state.usage).toEqual({ inputTokens: 10, outputTokens: 232, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
      expect(mistralAdapter.streamCompleted(r.state)).toBe(true);
      // The first thinking delta ("Okay") is the first content; the empty role/content chunks are not.
      if (size === 1) expect(r.firstContentAt).toBe(raw.indexOf('"text":"Okay"') + '"text":"Okay"}]}]},"finish_reason":null}]}\n\n'.length - 1);
    });
  }

  it("sends no usage chunk to a client that did not ask, but still records usage", () => {
    const r = replay(raw, false, 50);
    expect(r.chunks.some((c) => c.usage)).toBe(false);
    expect(mistralAdapter.streamUsage(r.state)?.outputTokens).toBe(232);
  });

  it("indexes and types the streamed tool call and reads the usage riding on it", () => {
    const sse = mistralSseFromChunks(fx.toolCallStreamChunks);
    for (const size of [3, 1_000_000]) {
      const r = replay(sse, true, size);
      const got = collect(r.chunks);
      expect(got.tools).toEqual([[0, { id: "gSIMJiOkT", type: "function", name: "weather", args: '{"location": "San Francisco"}' }]]);
      expect(got.finish).toBe("tool_calls");
      expect(r.state.usage).toMatchObject({ inputTokens: 124, outputTokens: 22 });
      expect(r.state.sawContent).toBe(true);
    }
  });

  it("reports a stream cut before [DONE] as incomplete", () => {
    const r = replay(raw.slice(0, raw.indexOf('"content":"By"')), true, 100);
    expect(mistralAdapter.streamCompleted(r.state)).toBe(false);
    expect(mistralAdapter.streamUsage(r.state)).toBeNull();
  });
});

describe("mistral adapter: errors", () => {
  it("reads the object:error envelope and its nested validation detail", () => {
    const e = mistralAdapter.classifyError(
      422,
      '{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","max_completion_tokens"],"msg":"Extra inputs are not permitted","input":32000}]},"type":"invalid_request_error","param":null,"code":null}',
    );
    expect(e).toMatchObject({ kind: "invalid_request", clientStatus: 422, retryable: false, type: "invalid_request_error" });
    expect(e.message).toBe("body.max_completion_tokens: Extra inputs are not permitted");
    const plain = mistralAdapter.classifyError(400, '{"object":"error","message":"Assistant message must have either content or tool_calls, but not none.","type":"invalid_request_error","param":null,"code":null}');
    expect(plain.message).toContain("Assistant message");
  });
  it("reads bare FastAPI detail, the gateway's 401 and context-length refusals", () => {
    expect(mistralAdapter.classifyError(422, '{"detail":[{"loc":["body","model"],"msg":"Field required"}]}').message).toBe("body.model: Field required");
    expect(mistralAdapter.classifyError(401, '{"message":"Unauthorized","request_id":"abc"}')).toMatchObject({ kind: "auth", clientStatus: 502, message: "Unauthorized" });
    const ctx = '{"object":"error","message":"Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length","type":"invalid_request_error","param":null,"code":"3051"}';
    expect(mistralAdapter.classifyError(400, ctx)).toMatchObject({ kind: "context_length_exceeded", code: "3051" });
    expect(mistralAdapter.classifyError(429, '{"message":"Requests rate limit exceeded"}')).toMatchObject({ kind: "rate_limited", retryable: true });
    expect(mistralAdapter.classifyError(500, "oops")).toMatchObject({ kind: "server_error", message: null });
  });
});
