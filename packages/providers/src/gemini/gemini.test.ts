import { describe, expect, it } from "vitest";
import type { ChatCompletionChunk, ChatCompletionRequest } from "@switchyard/contracts";
import { geminiSseFrames, loadGeminiFixtures } from "@switchyard/mock-upstream/fixtures-gemini";
import { getProviderAdapter } from "../index";
import { geminiAdapter, geminiRetryAfterSeconds, SKIP_THOUGHT_SIGNATURE, toGeminiSchema, type GeminiStreamState } from "./index";

const fx = loadGeminiFixtures();
const target = { baseUrl: null, apiKey: "AIza-provider-key", upstreamModel: "gemini-2.0-flash" };

type Json = Record<string, unknown>;
const bodyOf = (req: Partial<ChatCompletionRequest> & Json, t = target) =>
  JSON.parse(geminiAdapter.prepareChatRequest({ model: "public", messages: [{ role: "user", content: "hi" }], ...req }, t).http.body) as Json;

/** pydantic-ai's cassettes were recorded with the Python SDK, which writes snake_case keys; the API takes both. */
function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), camelKeys(x)]));
}

/** Feeds a stream in pieces of `size` characters; returns what the client would receive. */
function replay(raw: string, clientWantsUsage: boolean, size: number) {
  let state: GeminiStreamState = geminiAdapter.initStreamState({ clientWantsUsage });
  let output = "";
  let firstContentSteps = 0;
  for (let i = 0; i < raw.length; i += size) {
    const step = geminiAdapter.transformStream(state, raw.slice(i, i + size));
    state = step.state;
    output += step.output;
    if (step.firstContent) firstContentSteps++;
  }
  const end = geminiAdapter.finishStream(state);
  if (end.firstContent) firstContentSteps++;
  // `created` is the clock at stream start (the stream carries no createTime); pin it so separate runs compare.
  return { state: end.state, output: (output + end.output).replace(/"created":\d+/g, '"created":0'), firstContentSteps };
}

/** The OpenAI chunks of a translated stream (and whether it ended with [DONE]). */
function chunksOf(output: string) {
  const events = output.split("\n\n").filter((e) => e !== "");
  for (const e of events) expect(e.startsWith("data: ")).toBe(true);
  const data = events.map((e) => e.slice("data: ".length));
  const done = data.at(-1) === "[DONE]";
  const chunks = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as ChatCompletionChunk);
  const text = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? "")).join("");
  const finish = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null);
  return { chunks, done, text, finish };
}

const sseText = fx.textStreamSse.responseBody;
const thinkingStream = geminiSseFrames(fx.textStreamChunks).join("");
const toolStream = geminiSseFrames(fx.toolCallStreamChunks).join("");

describe("gemini adapter: requests", () => {
  it("calls generateContent with the provider key in x-goog-api-key, never in the URL", () => {
    const p = geminiAdapter.prepareChatRequest({ model: "public", messages: [{ role: "user", content: "hi" }] }, target);
    expect(p.http.url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
    expect(p.http.headers["x-goog-api-key"]).toBe("AIza-provider-key");
    expect(p.http.headers.authorization).toBeUndefined();
    expect(p.stream).toBe(false);
    expect(getProviderAdapter("gemini")).toBe(geminiAdapter);
  });

  it("streams with streamGenerateContent?alt=sse and tolerates a trailing slash and a models/ prefix", () => {
    const p = geminiAdapter.prepareChatRequest(
      { model: "public", messages: [{ role: "user", content: "hi" }], stream: true },
      { ...target, baseUrl: "http://127.0.0.1:9/v1beta/", upstreamModel: "models/gemini-2.0-flash-exp" },
    );
    expect(p.http.url).toBe("http://127.0.0.1:9/v1beta/models/gemini-2.0-flash-exp:streamGenerateContent?alt=sse");
    expect(p.http.headers.accept).toBe("text/event-stream");
    expect(p.clientWantsUsage).toBe(false);
  });

  it("builds the recorded streaming request: system prompt → systemInstruction, temperature → generationConfig", () => {
    const body = bodyOf({
      messages: [
        { role: "system", content: "You are a helpful chatbot." },
        { role: "user", content: "What is the capital of France?" },
      ],
      temperature: 0,
      stream: true,
    });
    const recorded = fx.textStreamSse.request as { contents: unknown; generationConfig: unknown; systemInstruction: { parts: unknown } };
    expect(body.contents).toEqual(recorded.contents);
    expect(body.generationConfig).toEqual(recorded.generationConfig);
    expect(body.systemInstruction).toEqual({ parts: recorded.systemInstruction.parts });
  });

  it("builds the recorded image-URL request: fileData with the MIME type guessed from the extension", () => {
    const url = "https://upload.wikimedia.org/wikipedia/commons/6/6a/Www.wikipedia_screenshot_%282021%29.png";
    const body = bodyOf({
      messages: [{ role: "user", content: [{ type: "text", text: "What is the main content of this URL?" }, { type: "image_url", image_url: { url } }] }],
    });
    expect(body.contents).toEqual(camelKeys(fx.visionImageUrl.request.contents));
  });

  it("sends a base64 data URL as inlineData and system + developer messages together", () => {
    const body = bodyOf({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/webp;base64,UklGRg==" } }] },
      ],
    });
    expect(body.systemInstruction).toEqual({ parts: [{ text: "Be brief." }, { text: "Answer in French." }] });
    expect(body.contents).toEqual([{ role: "user", parts: [{ inlineData: { mimeType: "image/webp", data: "UklGRg==" } }] }]);
  });

  it("maps sampling parameters and reports the ones Gemini cannot take", () => {
    const p = geminiAdapter.prepareChatRequest(
      {
        model: "public",
        messages: [{ role: "user", content: "hi" }],
        temperature: 0.3,
        top_p: 0.9,
        max_tokens: 50,
        max_completion_tokens: 100,
        stop: "END",
        seed: 7,
        n: 2,
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        user: "u-1",
        logprobs: true,
        logit_bias: { "1": 2 },
      },
      target,
    );
    expect(JSON.parse(p.http.body)).toMatchObject({
      generationConfig: {
        temperature: 0.3,
        topP: 0.9,
        maxOutputTokens: 100,
        stopSequences: ["END"],
        seed: 7,
        candidateCount: 2,
        presencePenalty: 0.5,
        frequencyPenalty: -0.5,
      },
    });
    expect(p.droppedParams.sort()).toEqual(["logit_bias", "logprobs", "user"]);
  });

  it("JSON mode: json_object → responseMimeType; json_schema → responseJsonSchema without $schema", () => {
    expect(bodyOf({ response_format: { type: "json_object" } }).generationConfig).toEqual({ responseMimeType: "application/json" });
    const schema = { $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: { strict: { type: "string" } }, required: ["strict"], additionalProperties: false };
    expect(bodyOf({ response_format: { type: "json_schema", json_schema: { name: "x", strict: true, schema } } }).generationConfig).toEqual({
      responseMimeType: "application/json",
      responseJsonSchema: { type: "object", properties: { strict: { type: "string" } }, required: ["strict"], additionalProperties: false },
    });
  });

  it("declares tools with Gemini's schema subset and maps every tool_choice", () => {
    const tools = [
      {
        type: "function",
        function: {
          name: "weather",
          description: "Get the weather",
          parameters: {
            $schema: "http://json-schema.org/draft-07/schema#",
            type: "object",
            additionalProperties: false,
            properties: {
              location: { type: "string", format: "uri" },
              unit: { type: ["string", "null"], enum: ["c", "f"] },
              when: { $ref: "#/$defs/When" },
            },
            required: ["location"],
            $defs: { When: { type: "string", format: "date-time", description: "ISO time" } },
          },
        },
      },
      { type: "function", function: { name: "ping", parameters: { type: "object", properties: {} } } },
    ];
    const body = bodyOf({ tools, tool_choice: "required" });
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "weather",
            description: "Get the weather",
            parameters: {
              type: "object",
              properties: {
                location: { type: "string" },
                unit: { type: "string", nullable: true, enum: ["c", "f"] },
                when: { type: "string", format: "date-time", description: "ISO time" },
              },
              required: ["location"],
            },
          },
          { name: "ping" },
        ],
      },
    ]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } });
    expect(bodyOf({ tools, tool_choice: "auto" }).toolConfig).toEqual({ functionCallingConfig: { mode: "AUTO" } });
    expect(bodyOf({ tools, tool_choice: "none" }).toolConfig).toEqual({ functionCallingConfig: { mode: "NONE" } });
    expect(bodyOf({ tools, tool_choice: { type: "function", function: { name: "ping" } } }).toolConfig).toEqual({
      functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["ping"] },
    });
  });

  it("converts pydantic-style Optional (anyOf with null) and allOf", () => {
    expect(toGeminiSchema({ type: "object", properties: { a: { anyOf: [{ type: "integer" }, { type: "null" }], default: null } } })).toEqual({
      type: "object",
      properties: { a: { type: "integer", nullable: true, default: null } },
    });
    expect(toGeminiSchema({ allOf: [{ type: "object", properties: { a: { type: "string" } }, required: ["a"] }, { properties: { b: { type: "number" } } }] })).toEqual({
      type: "object",
      properties: { a: { type: "string" }, b: { type: "number" } },
      required: ["a"],
    });
  });

  it("replays a tool conversation: functionCall parts, then functionResponse parts named after their calls", () => {
    const body = bodyOf(
      {
        messages: [
          { role: "user", content: "Weather in SF and Paris?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_a", type: "function", function: { name: "weather", arguments: '{"location":"San Francisco"}' }, extra_content: { google: { thought_signature: "sig-1" } } },
              { id: "call_b", type: "function", function: { name: "time", arguments: '{"city":"Paris"}' } },
            ],
          },
          { role: "tool", tool_call_id: "call_b", content: "12:00" },
          { role: "tool", tool_call_id: "call_a", content: '{"temp":18}' },
        ],
      },
      { ...target, upstreamModel: "gemini-3-pro-preview" },
    );
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in SF and Paris?" }] },
      {
        role: "model",
        parts: [
          { functionCall: { name: "weather", args: { location: "San Francisco" } }, thoughtSignature: "sig-1" },
          { functionCall: { name: "time", args: { city: "Paris" } } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "time", response: { result: "12:00" } } },
          { functionResponse: { name: "weather", response: { content: { temp: 18 } } } },
        ],
      },
    ]);
  });

  it("gives Gemini 3 a placeholder thought signature when the client lost the real one", () => {
    const messages = [
      { role: "user", content: "w?" },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "weather", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "c1", content: "sunny" },
    ];
    const g3 = bodyOf({ messages } as Partial<ChatCompletionRequest> & Json, { ...target, upstreamModel: "gemini-3-pro-preview" });
    const g2 = bodyOf({ messages } as Partial<ChatCompletionRequest> & Json);
    expect((g3.contents as { parts: Json[] }[])[1]?.parts[0]?.thoughtSignature).toBe(SKIP_THOUGHT_SIGNATURE);
    expect((g2.contents as { parts: Json[] }[])[1]?.parts[0]?.thoughtSignature).toBeUndefined();
  });
});

describe("gemini adapter: non-streaming replies", () => {
  it("translates the recorded text reply and counts thinking tokens as output", () => {
    const body = JSON.parse(fx.text) as unknown;
    const c = geminiAdapter.translateChatResponse(body, { model: "gemini-pro" });
    expect(c).toMatchObject({
      id: "chatcmpl-Un6LacrVMcjUxs0PmJfWoQc",
      object: "chat.completion",
      model: "gemini-pro",
      choices: [{ index: 0, message: { role: "assistant", content: "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y." }, finish_reason: "stop" }],
      usage: { prompt_tokens: 9, completion_tokens: 28 + 244, total_tokens: 281, completion_tokens_details: { reasoning_tokens: 244 } },
    });
    expect(geminiAdapter.extractChatUsage(body)).toEqual({ inputTokens: 9, outputTokens: 272, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 244 });
  });

  it("translates the recorded function call: tool_calls with JSON arguments, finish tool_calls, signature kept", () => {
    const c = geminiAdapter.translateChatResponse(JSON.parse(fx.toolCall), { model: "m" });
    const choice = c?.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toEqual([
      {
        id: "call_m36LaZGyCLz1xs0PtNSB-QU_0",
        type: "function",
        function: { name: "weather", arguments: '{"location":"San Francisco"}' },
        extra_content: { google: { thought_signature: expect.stringMatching(/^EskgCsYgAb4/) as unknown } },
      },
    ]);
    expect(c?.usage).toMatchObject({ prompt_tokens: 29, completion_tokens: 15 + 893, total_tokens: 937 });
  });

  it("translates the recorded image reply with its usage", () => {
    const c = geminiAdapter.translateChatResponse(JSON.parse(fx.visionImageUrl.responseBody), { model: "m" });
    expect(c?.choices[0]?.message.content).toMatch(/^The URL's main content is the landing page of Wikipedia/);
    expect(c?.created).toBe(Math.floor(Date.parse("2025-05-31T21:26:25.776828Z") / 1000));
    expect(geminiAdapter.extractChatUsage(JSON.parse(fx.visionImageUrl.responseBody))).toMatchObject({ inputTokens: 2589, outputTokens: 33, reasoningTokens: 0 });
  });

  it("reads cached tokens and maps the other finish reasons", () => {
    const body = {
      candidates: [
        { content: { parts: [{ text: "a" }], role: "model" }, finishReason: "MAX_TOKENS", index: 0 },
        { content: { parts: [{ text: "thinking", thought: true }, { text: "b" }], role: "model" }, finishReason: "SAFETY", index: 1 },
      ],
      usageMetadata: { promptTokenCount: 100, cachedContentTokenCount: 60, candidatesTokenCount: 4, totalTokenCount: 104 },
    };
    const c = geminiAdapter.translateChatResponse(body, { model: "m" });
    expect(c?.choices.map((x) => x.finish_reason)).toEqual(["length", "content_filter"]);
    expect(c?.choices[1]?.message).toEqual({ role: "assistant", content: "b", reasoning_content: "thinking" });
    expect(geminiAdapter.extractChatUsage(body)).toEqual({ inputTokens: 100, outputTokens: 4, cachedInputTokens: 60, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(c?.usage?.prompt_tokens_details).toEqual({ cached_tokens: 60 });
  });

  it("answers a blocked prompt with finish_reason content_filter", () => {
    const c = geminiAdapter.translateChatResponse({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 } }, { model: "m" });
    expect(c?.choices).toEqual([{ index: 0, message: { role: "assistant", content: null }, finish_reason: "content_filter", logprobs: null }]);
    expect(geminiAdapter.extractChatUsage({ candidates: [] })).toBeNull();
  });
});

describe("gemini adapter: stream transform over recorded streams", () => {
  const sizes = [1, 2, 7, 64, 1_000_000];

  it("raw SSE recording: same output for every chunk split, text deltas, stop, usage from the last chunk", () => {
    const reference = replay(sseText, true, 1_000_000);
    for (const size of sizes) expect(replay(sseText, true, size).output).toBe(reference.output);
    const r = chunksOf(reference.output);
    expect(r.text).toBe("The capital of France is Paris.\n");
    expect(r.chunks.filter((c) => c.choices[0]?.delta.content).length).toBe(3); // one OpenAI chunk per Gemini delta
    expect(r.finish).toEqual(["stop"]);
    expect(r.done).toBe(true);
    expect(r.chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(r.chunks[0]).toMatchObject({ id: "chatcmpl-w1peaMz6INOvnvgPgYfPiQY", object: "chat.completion.chunk", model: "gemini-2.0-flash-exp" });
    expect(r.chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 13, completion_tokens: 8, total_tokens: 21 } });
    expect(reference.state.usage).toEqual({ inputTokens: 13, outputTokens: 8, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(geminiAdapter.streamCompleted(reference.state)).toBe(true);
    expect(reference.firstContentSteps).toBe(1);
  });

  it("emits each text delta as soon as its event is complete, not at the end", () => {
    const events = sseText.split(/(?<=\r\n\r\n)/);
    let state = geminiAdapter.initStreamState({ clientWantsUsage: false });
    const first = geminiAdapter.transformStream(state, events[0] ?? "");
    state = first.state;
    expect(first.firstContent).toBe(true);
    expect(chunksOf(first.output).text).toBe("The");
    const half = geminiAdapter.transformStream(state, (events[1] ?? "").slice(0, 20));
    expect(half.output).toBe("");
  });

  it("omits the usage chunk when the client did not ask, but still records usage", () => {
    const r = replay(thinkingStream, false, 13);
    const c = chunksOf(r.output);
    expect(c.chunks.some((x) => x.usage)).toBe(false);
    expect(c.done).toBe(true);
    expect(c.text).toBe('There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y');
    expect(r.state.usage).toEqual({ inputTokens: 9, outputTokens: 23 + 185, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 185 });
  });

  it("thinking recording: the thoughtSignature-only final part produces no empty content delta", () => {
    const c = chunksOf(replay(thinkingStream, true, 5).output);
    const contentChunks = c.chunks.filter((x) => x.choices[0]?.delta.content !== undefined && x.choices[0]?.finish_reason === null);
    expect(contentChunks.map((x) => x.choices[0]?.delta.content)).toEqual(["There are **3**", ' "r"s in strawberry.\n\nst**r**awbe**rr**y']);
    expect(c.chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 208, completion_tokens_details: { reasoning_tokens: 185 } });
  });

  it("tool-call recording: one tool_calls delta with the full arguments, finish tool_calls", () => {
    const reference = replay(toolStream, true, 1_000_000);
    for (const size of sizes) expect(replay(toolStream, true, size).output).toBe(reference.output);
    const c = chunksOf(reference.output);
    const toolDeltas = c.chunks.flatMap((x) => x.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
    expect(toolDeltas).toEqual([
      {
        index: 0,
        id: "call_b36LacjwM668nsEP2tbsgQQ_0",
        type: "function",
        function: { name: "weather", arguments: '{"location":"San Francisco"}' },
        extra_content: { google: { thought_signature: expect.stringMatching(/^EqUCCqICAb4/) as unknown } },
      },
    ]);
    expect(c.finish).toEqual(["tool_calls"]);
    expect(c.text).toBe("");
    expect(reference.state.usage).toMatchObject({ inputTokens: 29, outputTokens: 60, reasoningTokens: 45 });
  });

  it("a stream cut before the finish reason is not completed and gets no [DONE]", () => {
    const cut = sseText.slice(0, sseText.lastIndexOf("data:"));
    const r = replay(cut, true, 9);
    expect(geminiAdapter.streamCompleted(r.state)).toBe(false);
    expect(r.output).not.toContain("[DONE]");
    expect(geminiAdapter.streamUsage(r.state)).toEqual({ inputTokens: 15, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it("a trailing event without its blank line is still translated at the end", () => {
    const r = replay(sseText.replace(/\r\n\r\n$/, ""), false, 1_000_000);
    expect(chunksOf(r.output).text).toBe("The capital of France is Paris.\n");
    expect(geminiAdapter.streamCompleted(r.state)).toBe(true);
  });

  it("an error event mid-stream becomes an OpenAI error event and the stream is not completed", () => {
    const error = `data: ${fx.error429.replace(/\s*\n\s*/g, "")}\r\n\r\n`;
    const firstEvent = sseText.split(/(?<=\r\n\r\n)/)[0] ?? "";
    const r = replay(firstEvent + error, true, 11);
    expect(r.output).toContain('data: {"error":{"message":"You exceeded your current quota, please check your plan.","type":null,"code":"RESOURCE_EXHAUSTED","param":null}}');
    expect(r.output).not.toContain("[DONE]");
    expect(geminiAdapter.streamCompleted(r.state)).toBe(false);
  });
});

describe("gemini adapter: errors", () => {
  it("classifies the recorded 429 RESOURCE_EXHAUSTED as rate_limited, keeps its message and reads RetryInfo", () => {
    const info = geminiAdapter.classifyError(429, fx.error429);
    expect(info).toMatchObject({
      kind: "rate_limited",
      clientStatus: 429,
      retryable: true,
      errorClass: "upstream_rate_limited",
      message: "You exceeded your current quota, please check your plan.",
      code: "RESOURCE_EXHAUSTED",
    });
    expect(geminiRetryAfterSeconds(fx.error429)).toBe(35);
    expect(geminiRetryAfterSeconds("{}")).toBeNull();
  });

  const err = (code: number, status: string, message = "m", details: unknown[] = []) => JSON.stringify({ error: { code, message, status, details } });
  it.each([
    [503, err(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), "overloaded", 503, true],
    [500, err(500, "INTERNAL"), "server_error", 502, true],
    [504, err(504, "DEADLINE_EXCEEDED"), "timeout", 504, true],
    [400, err(400, "INVALID_ARGUMENT", "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."), "context_length_exceeded", 400, false],
    [400, err(400, "INVALID_ARGUMENT", "Invalid JSON payload received."), "invalid_request", 400, false],
    [400, err(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }]), "auth", 502, false],
    [401, err(401, "UNAUTHENTICATED"), "auth", 502, false],
    [403, err(403, "PERMISSION_DENIED"), "permission", 502, false],
    [400, err(400, "FAILED_PRECONDITION", "User location is not supported for the API use."), "permission", 502, false],
    [404, err(404, "NOT_FOUND"), "not_found", 404, false],
    [502, "<html>bad gateway</html>", "server_error", 502, true],
  ])("HTTP %i %s → %s", (status, body, kind, clientStatus, retryable) => {
    expect(geminiAdapter.classifyError(status, body)).toMatchObject({ kind, clientStatus, retryable });
  });

  it("reads an error wrapped in an array (streaming endpoints) and names context_length_exceeded in code", () => {
    const info = geminiAdapter.classifyError(400, `[${err(400, "INVALID_ARGUMENT", "The input token count (5) exceeds the maximum number of tokens allowed (4).")}]`);
    expect(info).toMatchObject({ kind: "context_length_exceeded", code: "context_length_exceeded" });
  });
});
