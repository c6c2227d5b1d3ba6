import { describe, expect, it } from "vitest";
import { AppError, type ChatCompletionChunk, type ChatCompletionRequest } from "@switchyard/contracts";
import { frameAnthropicEvents, loadAnthropicFixtures } from "@switchyard/mock-upstream/fixtures-anthropic";
import { getProviderAdapter } from "../index";
import { anthropicAdapter, JSON_RESPONSE_TOOL, type AnthropicStreamState } from "./index";

const fx = loadAnthropicFixtures();
const target = { baseUrl: null, apiKey: "sk-ant-provider", upstreamModel: "claude-sonnet-4-5-20250929" };
type Body = Record<string, unknown>;

const prepare = (req: Partial<ChatCompletionRequest> & Body) =>
  anthropicAdapter.prepareChatRequest({ model: "public", messages: [{ role: "user", content: "hi" }], ...req }, target);
const bodyOf = (req: Partial<ChatCompletionRequest> & Body) => JSON.parse(prepare(req).http.body) as Body;

/** Feeds a stream in pieces of `size` characters, as the network might split it. */
function replay(raw: string, clientWantsUsage: boolean, size: number) {
  let state: AnthropicStreamState = anthropicAdapter.initStreamState({ clientWantsUsage });
  let output = "";
  let firstContentOutput: string | null = null;
  for (let i = 0; i < raw.length; i += size) {
    const step = anthropicAdapter.transformStream(state, raw.slice(i, i + size));
    state = step.state;
    output += step.output;
    if (step.firstContent) firstContentOutput = step.output;
  }
  const end = anthropicAdapter.finishStream(state);
  // `created` is the clock at stream start; pin it so outputs of separate runs compare.
  return { state: end.state, output: (output + end.output).replace(/"created":\d+/g, '"created":0'), firstContentOutput };
}

/** What an OpenAI client assembles from the translated stream. */
function assemble(output: string) {
  const frames = output.split("\n\n").filter((f) => f !== "");
  for (const f of frames) expect(f.startsWith("data: ")).toBe(true);
  const datas = frames.map((f) => f.slice("data: ".length));
  const done = datas.at(-1) === "[DONE]";
  const chunks = datas.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as ChatCompletionChunk & { error?: unknown });
  let text = "";
  let reasoning = "";
  let finish: string | null = null;
  let usage: ChatCompletionChunk["usage"] = null;
  const tools: { id?: string; name: string; arguments: string }[] = [];
  for (const c of chunks) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices ?? []) {
      text += ch.delta.content ?? "";
      reasoning += ch.delta.reasoning_content ?? "";
      if (ch.finish_reason) finish = ch.finish_reason;
      for (const tc of ch.delta.tool_calls ?? []) {
        const cur = (tools[tc.index] ??= { name: "", arguments: "" });
        if (tc.id) cur.id = tc.id;
        cur.name += tc.function?.name ?? "";
        cur.arguments += tc.function?.arguments ?? "";
      }
    }
  }
  return { chunks, text, reasoning, finish, usage, tools, done };
}

const textStream = frameAnthropicEvents(fx.textStreamChunks).join("");
const jsonToolStream = frameAnthropicEvents(fx.toolUseStreamChunks).join("");
const recordedStreamText = fx.textStreamChunks
  .map((l) => JSON.parse(l) as { delta?: { text?: string } })
  .map((e) => e.delta?.text ?? "")
  .join("");

describe("anthropic adapter: requests", () => {
  it("is registered, calls /v1/messages with x-api-key and anthropic-version, never the client's key", () => {
    expect(getProviderAdapter("anthropic")).toBe(anthropicAdapter);
    const p = prepare({});
    expect(p.http.url).toBe("https://api.anthropic.com/v1/messages");
    expect(p.http.headers).toEqual({
      "content-type": "application/json",
      accept: "application/json",
      "x-api-key": "sk-ant-provider",
      "anthropic-version": "2023-06-01",
    });
    expect(p.http.headers.authorization).toBeUndefined();
    const local = anthropicAdapter.prepareChatRequest({ model: "m", messages: [{ role: "user", content: "x" }] }, { ...target, baseUrl: "http://127.0.0.1:9/v1/" });
    expect(local.http.url).toBe("http://127.0.0.1:9/v1/messages");
  });

  it("builds exactly the recorded image request (pydantic-ai vision cassette) from OpenAI image_url parts", () => {
    const recorded = fx.visionImageUrl.request as { messages: { content: { source?: { url: string } }[] }[]; model: string };
    const url = recorded.messages[0]!.content[1]!.source!.url;
    const body = JSON.parse(
      anthropicAdapter.prepareChatRequest(
        {
          model: "haiku",
          messages: [{ role: "user", content: [{ type: "text", text: "What is this vegetable?" }, { type: "image_url", image_url: { url } }] }],
          stream: false,
        },
        { ...target, upstreamModel: recorded.model },
      ).http.body,
    ) as Body;
    const { stream: _stream, ...withoutStream } = fx.visionImageUrl.request;
    expect(body).toEqual(withoutStream);
  });

  it("sends base64 data: URLs as a base64 image source", () => {
    const body = bodyOf({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] }] });
    expect(body.messages).toEqual([{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] }]);
  });

  it("moves system and developer messages to the top-level system and keeps the turns in order", () => {
    const body = bodyOf({
      messages: [
        { role: "system", content: "You are terse." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: "hi" },
        { role: "assistant", content: "bonjour" },
        { role: "user", content: "again" },
      ],
    });
    expect(body.system).toEqual([
      { type: "text", text: "You are terse." },
      { type: "text", text: "Answer in French." },
    ]);
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: [{ type: "text", text: "bonjour" }] },
      { role: "user", content: [{ type: "text", text: "again" }] },
    ]);
  });

  it("turns assistant tool_calls into tool_use and merges consecutive tool results into one user turn", () => {
    const body = bodyOf({
      messages: [
        { role: "user", content: "weather in Paris and Rome?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "toolu_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: "tool", tool_call_id: "toolu_1", content: "18C" },
        { role: "tool", tool_call_id: "toolu_2", content: [{ type: "text", text: "24C" }] },
        { role: "user", content: "thanks, which is warmer?" },
      ],
    });
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Rome" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "18C" },
          { type: "tool_result", tool_use_id: "toolu_2", content: [{ type: "text", text: "24C" }] },
          { type: "text", text: "thanks, which is warmer?" },
        ],
      },
    ]);
  });

  it("maps tools and every tool_choice, and parallel_tool_calls: false", () => {
    const tools = [
      { type: "function", function: { name: "get_weather", description: "Weather now", parameters: { type: "object", properties: { city: { type: "string" } } } } },
      { type: "function", function: { name: "updateIssueList" } },
    ];
    const body = bodyOf({ tools });
    expect(body.tools).toEqual([
      { name: "get_weather", description: "Weather now", input_schema: { type: "object", properties: { city: { type: "string" } } } },
      { name: "updateIssueList", input_schema: { type: "object", properties: {} } },
    ]);
    expect(body.tool_choice).toEqual({ type: "auto" });
    expect(bodyOf({ tools, tool_choice: "none" }).tool_choice).toEqual({ type: "none" });
    expect(bodyOf({ tools, tool_choice: "required" }).tool_choice).toEqual({ type: "any" });
    expect(bodyOf({ tools, tool_choice: { type: "function", function: { name: "get_weather" } } }).tool_choice).toEqual({ type: "tool", name: "get_weather" });
    expect(bodyOf({ tools, tool_choice: "required", parallel_tool_calls: false }).tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(bodyOf({ tool_choice: "auto" }).tool_choice).toBeUndefined();
  });

  it("fills max_tokens (required by Anthropic) and maps temperature, top_p, stop, user", () => {
    expect(bodyOf({}).max_tokens).toBe(4096);
    expect(bodyOf({ max_tokens: 100 }).max_tokens).toBe(100);
    expect(bodyOf({ max_tokens: 100, max_completion_tokens: 50 }).max_tokens).toBe(50);
    const body = bodyOf({ temperature: 0.3, top_p: 0.9, stop: ["\n\nHuman:", "END"], user: "user-42", stream: true });
    expect(body).toMatchObject({ temperature: 0.3, top_p: 0.9, stop_sequences: ["\n\nHuman:", "END"], metadata: { user_id: "user-42" }, stream: true });
    expect(bodyOf({ stop: "END", temperature: 1.7 })).toMatchObject({ stop_sequences: ["END"], temperature: 1 });
  });

  it("drops what Anthropic cannot honour and reports it", () => {
    const p = prepare({ seed: 7, frequency_penalty: 0.5, presence_penalty: 0.1, logprobs: true, top_logprobs: 2, some_new_param: 1, n: 1 });
    expect(p.droppedParams).toEqual(["seed", "frequency_penalty", "presence_penalty", "logprobs", "top_logprobs", "some_new_param"]);
    const body = JSON.parse(p.http.body) as Body;
    for (const k of ["seed", "frequency_penalty", "presence_penalty", "logprobs", "top_logprobs", "some_new_param", "n"]) expect(body[k]).toBeUndefined();
    expect(prepare({ messages: [{ role: "user", content: "x", name: "bob" }] }).droppedParams).toEqual(["messages[].name"]);
    expect(prepare({ stream: true, stream_options: { include_usage: true } })).toMatchObject({ clientWantsUsage: true, stream: true, droppedParams: [] });
  });

  it("refuses with a 400 what it cannot carry: n > 1, audio parts, non-function tools, broken tool arguments", () => {
    const refused = (req: Body, param: string) => {
      let err: unknown;
      try {
        prepare(req);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 400, code: "invalid_request", param });
    };
    refused({ n: 2 }, "n");
    refused({ messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "", format: "wav" } }] }] }, "messages[0].content[0]");
    refused({ tools: [{ type: "web_search" }] }, "tools[0]");
    refused(
      { messages: [{ role: "user", content: "x" }, { role: "assistant", tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{oops" } }] }] },
      "messages[1].tool_calls[0].function.arguments",
    );
    refused({ tools: [{ type: "function", function: { name: JSON_RESPONSE_TOOL } }] }, "tools[0].function.name");
  });

  it("carries response_format as a forced tool whose input schema is the requested schema", () => {
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    const body = bodyOf({ response_format: { type: "json_schema", json_schema: { name: "answer", schema } } });
    expect(body.tools).toEqual([{ name: JSON_RESPONSE_TOOL, description: expect.stringContaining("JSON") as string, input_schema: schema }]);
    expect(body.tool_choice).toEqual({ type: "tool", name: JSON_RESPONSE_TOOL });
    expect(bodyOf({ response_format: { type: "json_object" } })).toMatchObject({ tools: [{ name: JSON_RESPONSE_TOOL, input_schema: { type: "object" } }] });
    expect(bodyOf({ response_format: { type: "text" } }).tools).toBeUndefined();
    // With client tools, the model must call one of them or answer through the JSON tool.
    const both = bodyOf({ response_format: { type: "json_object" }, tools: [{ type: "function", function: { name: "f" } }] });
    expect((both.tools as { name: string }[]).map((t) => t.name)).toEqual(["f", JSON_RESPONSE_TOOL]);
    expect(both.tool_choice).toEqual({ type: "any" });
  });
});

describe("anthropic adapter: replies and usage from recorded responses", () => {
  it("translates the text reply (vercel-ai anthropic-text.json)", () => {
    const body = JSON.parse(fx.text) as Body;
    expect(anthropicAdapter.translateChatResponse(body, { model: "claude-sonnet" })).toEqual({
      id: "msg_01VdEjxAP5ahtHKrrRdNBteQ",
      object: "chat.completion",
      created: expect.any(Number) as number,
      model: "claude-sonnet",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?" },
          finish_reason: "stop",
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 29, total_tokens: 41, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 } },
    });
    expect(anthropicAdapter.extractChatUsage(body)).toEqual({ inputTokens: 12, outputTokens: 29, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it("counts cache reads and writes inside prompt tokens, as OpenAI does (helicone cache-read)", () => {
    const body = JSON.parse(fx.cacheRead) as Body;
    // input_tokens 9 are the uncached rest: 9 + 183 read + 50 written = 242 prompt tokens.
    expect(anthropicAdapter.extractChatUsage(body)).toEqual({ inputTokens: 242, outputTokens: 12, cachedInputTokens: 183, cacheWriteTokens: 50, reasoningTokens: 0 });
    expect(anthropicAdapter.translateChatResponse(body, { model: "m" })?.usage).toEqual({
      prompt_tokens: 242,
      completion_tokens: 12,
      total_tokens: 254,
      prompt_tokens_details: { cached_tokens: 183, cache_write_tokens: 50 },
    });
  });

  it("translates text + tool_use into content + tool_calls with JSON arguments (vercel-ai tool-no-args)", () => {
    const c = anthropicAdapter.translateChatResponse(JSON.parse(fx.toolUse), { model: "m" });
    const choice = c?.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toMatch(/^<thinking>\nThe updateIssueList tool .*Okay, I will update the current issue list:$/s);
    expect(choice?.message.tool_calls).toEqual([{ id: "toolu_01LRmxn9vGM1d2DZSDBowdZ1", type: "function", function: { name: "updateIssueList", arguments: "{}" } }]);
    expect(c?.usage).toMatchObject({ prompt_tokens: 602, completion_tokens: 93 });
  });

  it("puts thinking into reasoning_content (vercel-ai clear-thinking)", () => {
    const c = anthropicAdapter.translateChatResponse(JSON.parse(fx.thinking), { model: "m" });
    expect(c?.choices[0]?.message).toEqual({ role: "assistant", content: "925 ÷ 5 = 185", reasoning_content: "925 divided by 5 = 185" });
    expect(c?.usage).toMatchObject({ prompt_tokens: 69, completion_tokens: 33 });
  });

  it("turns the JSON response tool back into message content with finish_reason stop", () => {
    const reply = JSON.parse(fx.toolUse) as { content: Body[] };
    reply.content = [{ type: "tool_use", id: "toolu_x", name: JSON_RESPONSE_TOOL, input: { answer: "42", n: [1, 2] } }];
    const c = anthropicAdapter.translateChatResponse({ ...reply, stop_reason: "tool_use" }, { model: "m" });
    expect(c?.choices[0]?.message).toEqual({ role: "assistant", content: '{"answer":"42","n":[1,2]}' });
    expect(c?.choices[0]?.finish_reason).toBe("stop");
  });

  it("maps every stop_reason", () => {
    const finish = (stop_reason: string) => anthropicAdapter.translateChatResponse({ ...(JSON.parse(fx.text) as Body), stop_reason }, { model: "m" })?.choices[0]?.finish_reason;
    expect(finish("end_turn")).toBe("stop");
    expect(finish("stop_sequence")).toBe("stop");
    expect(finish("max_tokens")).toBe("length");
    expect(finish("refusal")).toBe("content_filter");
    expect(finish("pause_turn")).toBe("stop");
    expect(anthropicAdapter.extractChatUsage({ content: [] })).toBeNull();
  });
});

describe("anthropic adapter: stream translation over recorded streams", () => {
  const sizes = [1, 3, 17, 64, 1_000_000];

  it("gives the same output whatever the chunking (text stream, vercel-ai)", () => {
    const outputs = sizes.map((size) => replay(textStream, true, size).output);
    for (const o of outputs) expect(o).toBe(outputs[0]);
    const r = replay(textStream, true, 1);
    const a = assemble(r.output);
    expect(a.text).toBe(recordedStreamText);
    expect(a.text).toBe("Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?");
    expect(a.finish).toBe("stop");
    expect(a.done).toBe(true);
    expect(a.usage).toEqual({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 } });
    expect(a.chunks[0]).toMatchObject({ id: "msg_01QC4g3HwBThD4BaNtBckFDJ", model: "claude-sonnet-4-5-20250929", object: "chat.completion.chunk", choices: [{ delta: { role: "assistant", content: "" } }] });
    // The usage chunk has no choices, and comes right before [DONE].
    expect(a.chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12 } });
    expect(anthropicAdapter.streamCompleted(r.state)).toBe(true);
    expect(anthropicAdapter.streamUsage(r.state)).toEqual({ inputTokens: 12, outputTokens: 30, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    // The role chunk is not content; "Hello" is.
    expect(r.firstContentOutput).toContain('"content":"Hello"');
  });

  it("emits each delta as soon as its event is complete, never holding the answer back", () => {
    let state = anthropicAdapter.initStreamState({ clientWantsUsage: false });
    const events = frameAnthropicEvents(fx.textStreamChunks);
    const step1 = anthropicAdapter.transformStream(state, events.slice(0, 4).join(""));
    expect(assemble(step1.output).text).toBe("Hello");
    state = step1.state;
    const half = events[4]!.slice(0, 30);
    expect(anthropicAdapter.transformStream(state, half).output).toBe("");
  });

  it("leaves the usage chunk out when the client did not ask, but still records usage", () => {
    const r = replay(textStream, false, 50);
    expect(r.output).not.toContain('"usage"');
    expect(r.output.endsWith('"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')).toBe(true);
    expect(anthropicAdapter.streamUsage(r.state)).toMatchObject({ inputTokens: 12, outputTokens: 30 });
  });

  it("translates text then tool_use with cache usage from raw SSE with irregular whitespace (helicone)", () => {
    const outputs = sizes.map((size) => replay(fx.toolUseStreamSse, true, size).output);
    for (const o of outputs) expect(o).toBe(outputs[0]);
    const r = replay(fx.toolUseStreamSse, true, 1);
    const a = assemble(r.output);
    expect(a.text).toBe("I'll help you calculate that using the calculate function.");
    // Anthropic's block index is 1 (the text block is 0); the OpenAI tool index is 0.
    expect(a.tools).toEqual([{ id: "toolu_019z4x8aagZbz8K455pmuVqk", name: "calculate", arguments: '{"expression": "50+50"}' }]);
    expect(a.chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? [])).every((tc) => tc.index === 0)).toBe(true);
    expect(a.finish).toBe("tool_calls");
    expect(a.usage).toEqual({ prompt_tokens: 858, completion_tokens: 65, total_tokens: 923, prompt_tokens_details: { cached_tokens: 500, cache_write_tokens: 20 } });
    expect(anthropicAdapter.streamUsage(r.state)).toEqual({ inputTokens: 858, outputTokens: 65, cachedInputTokens: 500, cacheWriteTokens: 20, reasoningTokens: 0 });
  });

  it("streams input_json_delta fragments as tool-call argument deltas (vercel-ai json tool)", () => {
    const outputs = sizes.map((size) => replay(jsonToolStream, false, size).output);
    for (const o of outputs) expect(o).toBe(outputs[0]);
    const a = assemble(outputs[0]!);
    expect(a.tools).toEqual([
      { id: "toolu_01KFbKqPYSuAKujiL6mTfzYA", name: "json", arguments: '{"elements": [{"location": "San Francisco", "temperature": 58, "condition": "sunny"}]}' },
    ]);
    const first = a.chunks[1]?.choices[0]?.delta.tool_calls?.[0];
    expect(first).toEqual({ index: 0, id: "toolu_01KFbKqPYSuAKujiL6mTfzYA", type: "function", function: { name: "json", arguments: "" } });
    expect(a.finish).toBe("tool_calls");
    expect(a.text).toBe("");
  });

  it("streams the JSON response tool's input as content with finish_reason stop", () => {
    const renamed = fx.toolUseStreamChunks.map((l) => l.replace('"name":"json"', `"name":"${JSON_RESPONSE_TOOL}"`));
    const a = assemble(replay(frameAnthropicEvents(renamed).join(""), false, 5).output);
    expect(a.tools).toEqual([]);
    expect(JSON.parse(a.text)).toEqual({ elements: [{ location: "San Francisco", temperature: 58, condition: "sunny" }] });
    expect(a.finish).toBe("stop");
  });

  it("numbers parallel tool calls 0, 1, 2 across tool_use blocks, whatever Anthropic's block index", () => {
    // The recorded text + tool_use stream with the tool block repeated as blocks 2 and 3.
    const events = fx.toolUseStreamSse.split(/\n\n/).filter((e) => e.trim() !== "");
    const toolEvents = events.filter((e) => /"index":1\b/.test(e));
    const extra = [2, 3].flatMap((n) => toolEvents.map((e) => e.replace('"index":1', `"index":${n}`).replace("toolu_019z4x8aagZbz8K455pmuVqk", `toolu_${n}`)));
    const stopAt = events.findIndex((e) => e.includes("message_delta"));
    const raw = [...events.slice(0, stopAt), ...extra, ...events.slice(stopAt)].join("\n\n") + "\n\n";
    const a = assemble(replay(raw, false, 7).output);
    expect(a.tools.map((t) => t.id)).toEqual(["toolu_019z4x8aagZbz8K455pmuVqk", "toolu_2", "toolu_3"]);
    for (const t of a.tools) expect(JSON.parse(t.arguments)).toEqual({ expression: "50+50" });
  });

  it("turns thinking deltas into reasoning_content and ignores signature deltas and pings", () => {
    const lines = [
      fx.textStreamChunks[0]!,
      '{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"925 divided by 5"}}',
      '{"type":"ping"}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" = 185"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"Er4BCkYICxgCKkCo"}}',
      '{"type":"content_block_stop","index":0}',
      '{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}',
      '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"925 ÷ 5 = 185"}}',
      '{"type":"content_block_stop","index":1}',
      '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":33}}',
      '{"type":"message_stop"}',
    ];
    const r = replay(frameAnthropicEvents(lines).join(""), true, 11);
    const a = assemble(r.output);
    expect(a.reasoning).toBe("925 divided by 5 = 185");
    expect(a.text).toBe("925 ÷ 5 = 185");
    expect(r.output).not.toContain("Er4BCkYICxgCKkCo");
    // message_delta without input counts keeps message_start's.
    expect(a.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 33 });
  });

  it("ends the stream with an OpenAI error frame on an `error` event and reports it incomplete", () => {
    const events = frameAnthropicEvents(fx.textStreamChunks);
    const raw = [...events.slice(0, 5), 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n', ...events.slice(5)].join("");
    const r = replay(raw, true, 9);
    const frames = r.output.split("\n\n").filter((f) => f !== "");
    expect(frames.at(-1)).toBe('data: {"error":{"message":"Overloaded","type":"overloaded_error","code":null,"param":null}}');
    expect(r.output).not.toContain("[DONE]");
    expect(assemble(r.output).text).toBe("Hello! I");
    expect(anthropicAdapter.streamCompleted(r.state)).toBe(false);
    expect(anthropicAdapter.streamUsage(r.state)).toMatchObject({ inputTokens: 12 });
  });

  it("reports a stream cut before message_stop as incomplete, with the usage seen so far", () => {
    const r = replay(textStream.slice(0, textStream.indexOf("message_delta")), true, 40);
    expect(anthropicAdapter.streamCompleted(r.state)).toBe(false);
    expect(r.output).not.toContain("[DONE]");
    expect(anthropicAdapter.streamUsage(r.state)).toMatchObject({ inputTokens: 12, outputTokens: 1 });
  });

  it("reads CRLF-framed events and a final event without its blank line", () => {
    const crlf = textStream.replace(/\n/g, "\r\n").replace(/\r\n\r\n$/, "");
    expect(replay(crlf, true, 13).output).toBe(replay(textStream, true, 13).output);
  });
});

describe("anthropic adapter: errors", () => {
  it("classifies the recorded 400 (pydantic-ai) as invalid_request with Anthropic's message", () => {
    const e = anthropicAdapter.classifyError(fx.error400.status, fx.error400.responseBody);
    expect(e).toMatchObject({ kind: "invalid_request", clientStatus: 400, retryable: false, type: "invalid_request_error" });
    expect(e.message).toBe("This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.");
  });

  it("maps Anthropic's error types to the typed kinds", () => {
    const body = (type: string, message = "x") => JSON.stringify({ type: "error", error: { type, message } });
    expect(anthropicAdapter.classifyError(529, body("overloaded_error", "Overloaded"))).toMatchObject({ kind: "overloaded", clientStatus: 503, retryable: true });
    expect(anthropicAdapter.classifyError(529, "")).toMatchObject({ kind: "overloaded" });
    expect(anthropicAdapter.classifyError(429, body("rate_limit_error"))).toMatchObject({ kind: "rate_limited", clientStatus: 429, retryable: true });
    expect(anthropicAdapter.classifyError(400, body("invalid_request_error", "prompt is too long: 215439 tokens > 200000 maximum"))).toMatchObject({
      kind: "context_length_exceeded",
      clientStatus: 400,
      code: "context_length_exceeded",
    });
    expect(anthropicAdapter.classifyError(401, body("authentication_error"))).toMatchObject({ kind: "auth", clientStatus: 502, retryable: false });
    expect(anthropicAdapter.classifyError(403, body("permission_error"))).toMatchObject({ kind: "permission", clientStatus: 502 });
    expect(anthropicAdapter.classifyError(404, body("not_found_error"))).toMatchObject({ kind: "not_found", clientStatus: 404 });
    expect(anthropicAdapter.classifyError(500, body("api_error"))).toMatchObject({ kind: "server_error", clientStatus: 502, retryable: true });
    expect(anthropicAdapter.classifyError(413, body("request_too_large"))).toMatchObject({ kind: "invalid_request", clientStatus: 413 });
    expect(anthropicAdapter.classifyError(502, "<html>bad gateway</html>")).toMatchObject({ kind: "server_error", message: null });
  });
});
