import { describe, expect, it } from "vitest";
import type { ChatCompletion } from "@switchyard/contracts";
import { loadFixtures } from "@switchyard/mock-upstream/fixtures";
import { openAiAdapter, type OpenAiStreamState } from "../../openai";
import {
  anthropicErrorBody,
  anthropicStreamEnded,
  anthropicToChatRequest,
  chatCompletionToAnthropicMessage,
  finishAnthropicStream,
  initAnthropicStreamState,
  toAnthropicUsage,
  transformToAnthropicStream,
  type AnthropicStreamState,
} from "./index";

const fx = loadFixtures();
const opts = { maxTokensParam: "max_completion_tokens" } as const;

function translate(json: unknown) {
  const r = anthropicToChatRequest(json, opts);
  if (!r.ok) throw new Error(r.message);
  return r;
}

describe("inbound anthropic: requests", () => {
  it("maps system, multi-turn tool use and tool results onto the recorded OpenAI request", () => {
    // The Anthropic form of pydantic-ai's recorded second turn.
    const recorded = fx.toolCall[1]!.request as { messages: unknown[]; tools: { function: { name: string; description: string; parameters: unknown } }[] };
    const r = translate({
      model: "gpt-4o",
      max_tokens: 1024,
      system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
      messages: [
        { role: "user", content: "What is the largest city in the user country?" },
        { role: "assistant", content: [{ type: "tool_use", id: "call_iXFttys57ap0o16JSlC8yhYo", name: "get_user_country", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_iXFttys57ap0o16JSlC8yhYo", content: "Mexico" }] },
      ],
      tools: recorded.tools.map((t) => ({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters })),
      tool_choice: { type: "any" },
    });
    expect(r.request.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "What is the largest city in the user country?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_iXFttys57ap0o16JSlC8yhYo", type: "function", function: { name: "get_user_country", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_iXFttys57ap0o16JSlC8yhYo", content: "Mexico" },
    ]);
    expect(r.request.messages.slice(1)).toEqual(
      (recorded.messages as Record<string, unknown>[]).map((m) => (m.role === "assistant" ? { ...m, content: null } : m)),
    );
    // An empty description is left out rather than sent as "".
    expect(r.request.tools).toEqual(
      recorded.tools.map((t) => ({ type: "function", function: t.function.description ? t.function : { name: t.function.name, parameters: t.function.parameters } })),
    );
    expect(r.request.tool_choice).toBe("required");
    expect(r.request.max_completion_tokens).toBe(1024);
    expect(r.droppedParams).toEqual([]);
  });

  it("maps images (base64 and URL), sampling, stops, user, streaming; drops top_k and thinking", () => {
    const r = translate({
      model: "m",
      max_tokens: 10,
      temperature: 0.3,
      top_p: 0.9,
      top_k: 5,
      stop_sequences: ["END"],
      metadata: { user_id: "u-1" },
      thinking: { type: "enabled", budget_tokens: 2048 },
      stream: true,
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
            { type: "image", source: { type: "url", url: "https://example.com/a.jpg" } },
            { type: "text", text: "What is in these?" },
          ],
        },
      ],
    });
    expect(r.request).toEqual({
      model: "m",
      max_completion_tokens: 10,
      temperature: 0.3,
      top_p: 0.9,
      stop: ["END"],
      user: "u-1",
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/a.jpg" } },
            { type: "text", text: "What is in these?" },
          ],
        },
      ],
    });
    expect(r.droppedParams.sort()).toEqual(["thinking", "top_k"]);
    expect(anthropicToChatRequest({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }] }, { maxTokensParam: "max_tokens" })).toMatchObject({
      ok: true,
      request: { max_tokens: 1 },
    });
  });

  it("puts tool results before the rest of the user turn, images from tool results on the user message", () => {
    const r = translate({
      model: "m",
      max_tokens: 5,
      tools: [{ name: "shot", input_schema: { type: "object" } }],
      tool_choice: { type: "tool", name: "shot", disable_parallel_tool_use: true },
      messages: [
        { role: "user", content: "take a screenshot" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm", signature: "sig" },
            { type: "text", text: "Sure." },
            { type: "tool_use", id: "t1", name: "shot", input: { full: true } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "text", text: "here" },
            {
              type: "tool_result",
              tool_use_id: "t1",
              is_error: false,
              content: [
                { type: "text", text: "captured" },
                { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "AAAA" } },
              ],
            },
          ],
        },
      ],
    });
    expect(r.request.messages.slice(1)).toEqual([
      { role: "assistant", content: "Sure.", tool_calls: [{ id: "t1", type: "function", function: { name: "shot", arguments: '{"full":true}' } }] },
      { role: "tool", tool_call_id: "t1", content: "captured" },
      {
        role: "user",
        content: [
          { type: "text", text: "here" },
          { type: "image_url", image_url: { url: "data:image/jpeg;base64,AAAA" } },
        ],
      },
    ]);
    expect(r.request.tool_choice).toEqual({ type: "function", function: { name: "shot" } });
    expect(r.request.parallel_tool_calls).toBe(false);
  });

  it("refuses what Anthropic would refuse, and what has no OpenAI form, naming the field", () => {
    const base = { model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }] };
    const bad = (json: unknown) => {
      const r = anthropicToChatRequest(json, opts);
      if (r.ok) throw new Error("expected a refusal");
      return r;
    };
    expect(bad({ ...base, max_tokens: undefined }).param).toBe("max_tokens");
    expect(bad({ ...base, messages: [] }).param).toBe("messages");
    expect(bad({ ...base, messages: [{ role: "system", content: "x" }] }).param).toBe("messages[0].role");
    const block = bad({ ...base, messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "server_tool_use", id: "x" }] }] });
    expect(block.message).toMatch(/^messages\[0\]\.content\[1\]\.type: unsupported content block type/);
    expect(bad({ ...base, messages: [{ role: "user", content: 5 }] }).param).toBe("messages[0].content");
    expect(bad({ ...base, tools: [{ type: "web_search_20250305", name: "web_search" }] }).message).toMatch(/tools\[0\]: server tool type 'web_search_20250305'/);
    expect(bad({ ...base, tool_choice: { type: "any" } }).param).toBe("tool_choice");
    expect(bad({ ...base, messages: [{ role: "user", content: [{ type: "tool_use", id: "a", name: "b", input: {} }] }] }).param).toBe("messages[0].content[0]");
  });
});

describe("inbound anthropic: responses", () => {
  it("turns the recorded text completion into a Message with the public model name and exact usage", () => {
    const completion = JSON.parse(fx.chatText) as ChatCompletion;
    const m = chatCompletionToAnthropicMessage(completion, openAiAdapter.extractChatUsage(completion), "public-model");
    expect(m).toEqual({
      id: `msg_${completion.id}`,
      type: "message",
      role: "assistant",
      model: "public-model",
      content: [{ type: "text", text: completion.choices[0]!.message.content }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 16, output_tokens: 363, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
  });

  it("reports cached tokens apart from input tokens, as Anthropic does", () => {
    const completion = JSON.parse(fx.chatCachedTokens) as ChatCompletion;
    const m = chatCompletionToAnthropicMessage(completion, openAiAdapter.extractChatUsage(completion), "x");
    expect(m.usage).toEqual({ input_tokens: 96, output_tokens: 10, cache_read_input_tokens: 1152, cache_creation_input_tokens: 0 });
    expect(toAnthropicUsage({ inputTokens: 100, outputTokens: 1, cachedInputTokens: 30, cacheWriteTokens: 50, reasoningTokens: 0 })).toEqual({
      input_tokens: 20,
      output_tokens: 1,
      cache_read_input_tokens: 30,
      cache_creation_input_tokens: 50,
    });
  });

  it("turns recorded tool calls into tool_use blocks with parsed input", () => {
    const completion = JSON.parse(fx.toolCall[1]!.responseBody) as ChatCompletion;
    const m = chatCompletionToAnthropicMessage(completion, openAiAdapter.extractChatUsage(completion), "gpt-4o");
    expect(m.content).toEqual([{ type: "tool_use", id: "call_gmD2oUZUzSoCkmNmp3JPUF7R", name: "final_result", input: { city: "Mexico City", country: "Mexico" } }]);
    expect(m.stop_reason).toBe("tool_use");
    expect(m.usage).toMatchObject({ input_tokens: 89, output_tokens: 36 });
  });

  it("maps every finish reason and keeps unparsable tool arguments visible", () => {
    const base = JSON.parse(fx.chatText) as ChatCompletion;
    const withFinish = (finish_reason: ChatCompletion["choices"][number]["finish_reason"]) =>
      chatCompletionToAnthropicMessage({ ...base, choices: [{ ...base.choices[0]!, finish_reason }] }, null, "m").stop_reason;
    expect([withFinish("stop"), withFinish("length"), withFinish("tool_calls"), withFinish("content_filter")]).toEqual(["end_turn", "max_tokens", "tool_use", "refusal"]);
    const broken = chatCompletionToAnthropicMessage(
      { ...base, choices: [{ index: 0, finish_reason: "length", message: { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: '{"a":' } }] } }] },
      null,
      "m",
    );
    expect(broken.content).toEqual([{ type: "tool_use", id: "c", name: "f", input: { _unparsed_arguments: '{"a":' } }]);
  });

  it("speaks Anthropic's error shape and types", () => {
    expect(anthropicErrorBody(400, "bad")).toEqual({ type: "error", error: { type: "invalid_request_error", message: "bad" } });
    const types = [401, 403, 404, 413, 429, 500, 502, 503, 504, 529].map((s) => anthropicErrorBody(s, "").error.type);
    expect(types).toEqual([
      "authentication_error",
      "permission_error",
      "not_found_error",
      "request_too_large",
      "rate_limit_error",
      "api_error",
      "api_error",
      "overloaded_error",
      "api_error",
      "overloaded_error",
    ]);
  });
});

interface Ev {
  event: string;
  data: Record<string, unknown> & { type: string };
}

/** The recorded OpenAI stream through the OpenAI adapter (as the proxy does), then through the Anthropic encoder, in pieces of `size`. */
function replay(raw: string, size: number, failure: { status: number; message: string } | null = null) {
  let up: OpenAiStreamState = openAiAdapter.initStreamState({ clientWantsUsage: true });
  let st: AnthropicStreamState = initAnthropicStreamState({ model: "public", fallbackId: "req_1" });
  let out = "";
  const steps: string[] = [];
  for (let i = 0; i < raw.length; i += size) {
    const a = openAiAdapter.transformStream(up, raw.slice(i, i + size));
    up = a.state;
    const b = transformToAnthropicStream(st, a.output);
    st = b.state;
    out += b.output;
    steps.push(b.output);
  }
  const a = openAiAdapter.finishStream(up);
  const b = transformToAnthropicStream(st, a.output);
  const end = finishAnthropicStream(b.state, failure);
  out += b.output + end.output;
  const events: Ev[] = out
    .split("\n\n")
    .filter((f) => f !== "")
    .map((f) => {
      const [ev, data] = f.split("\n");
      return { event: ev!.slice("event: ".length), data: JSON.parse(data!.slice("data: ".length)) as Ev["data"] };
    });
  for (const e of events) expect(e.data.type).toBe(e.event);
  return { events, state: end.state, steps };
}

/** Rebuilds the message the way Anthropic's SDK accumulates a stream. */
function accumulate(events: Ev[]) {
  const content: { type: string; text?: string; json?: string; id?: string; name?: string }[] = [];
  let stop: unknown = null;
  let usage: unknown = null;
  const open = new Set<number>();
  for (const { data } of events) {
    if (data.type === "content_block_start") {
      expect(data.index).toBe(content.length);
      const block = data.content_block as { type: string; id?: string; name?: string };
      content.push({ ...block, text: block.type === "text" ? "" : undefined, json: block.type === "tool_use" ? "" : undefined });
      open.add(data.index as number);
    } else if (data.type === "content_block_delta") {
      expect(open.has(data.index as number)).toBe(true);
      const delta = data.delta as { type: string; text?: string; partial_json?: string };
      const block = content[data.index as number]!;
      if (delta.type === "text_delta") block.text += delta.text ?? "";
      else block.json += delta.partial_json ?? "";
    } else if (data.type === "content_block_stop") open.delete(data.index as number);
    else if (data.type === "message_delta") {
      stop = (data.delta as { stop_reason: unknown }).stop_reason;
      usage = data.usage;
    }
  }
  expect(open.size).toBe(0);
  return { content, stop, usage };
}

describe("inbound anthropic: streams", () => {
  for (const size of [1, 7, 64, 100_000]) {
    it(`re-encodes the recorded text stream as Anthropic events (pieces of ${size})`, () => {
      const { events, state } = replay(fx.chatTextStream, size);
      expect(events[0]?.event).toBe("message_start");
      expect((events[0]?.data.message as { model: string; id: string }).model).toBe("public");
      expect((events[0]?.data.message as { id: string }).id).toBe("msg_chatcmpl-CDYHKJaUtey5GfGKB4TquZ09VuER2");
      expect(events.map((e) => e.event).slice(-2)).toEqual(["message_delta", "message_stop"]);
      const r = accumulate(events);
      expect(r.content).toEqual([{ type: "text", text: "Hello! How can I assist you today?", json: undefined }]);
      expect(r.stop).toBe("end_turn");
      expect(r.usage).toEqual({ input_tokens: 1248, output_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
      expect(anthropicStreamEnded(state)).toBe(true);
    });
  }

  it("emits each text delta as soon as its chunk arrives", () => {
    const frames = fx.chatTextStream.split("\n\n");
    const { steps } = replay(fx.chatTextStream, fx.chatTextStream.indexOf(frames[2]!) + frames[2]!.length + 2);
    // The first piece holds three chunks: message_start, the text block and its first deltas already go out.
    expect(steps[0]).toContain("event: message_start");
    expect(steps[0]).toContain('"text":"Hello"');
    expect(steps[0]).toContain('"text":"!"');
  });

  for (const size of [1, 13, 100_000]) {
    it(`re-encodes recorded streamed tool calls as tool_use blocks with input_json_delta (pieces of ${size})`, () => {
      const { events } = replay(fx.toolCallStream[0]!.responseBody, size);
      const r = accumulate(events);
      expect(r.content).toEqual([{ type: "tool_use", id: "call_ZR5UUuTt3pf61kjwAJIYdVMj", name: "get_capital", input: {}, json: '{"country":"UK"}', text: undefined }]);
      expect(JSON.parse(r.content[0]!.json!)).toEqual({ country: "UK" });
      expect(r.stop).toBe("tool_use");
      expect(r.usage).toEqual({ input_tokens: 53, output_tokens: 15, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    });
  }

  it("closes the text block before a tool block, and numbers blocks in order (text, then each call)", () => {
    const chunk = (delta: unknown, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "x", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const raw =
      chunk({ role: "assistant", content: "Let me check." }) +
      chunk({ tool_calls: [{ index: 0, id: "a", type: "function", function: { name: "f", arguments: '{"x"' } }] }) +
      chunk({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] }) +
      chunk({ tool_calls: [{ index: 1, id: "b", type: "function", function: { name: "g", arguments: "{}" } }] }) +
      chunk({}, "tool_calls") +
      `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "x", choices: [], usage: { prompt_tokens: 120, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 20, cache_write_tokens: 50 } } })}\n\n` +
      "data: [DONE]\n\n";
    const { events } = replay(raw, 5);
    expect(events.map((e) => `${e.event}${typeof e.data.index === "number" ? `:${e.data.index}` : ""}`)).toEqual([
      "message_start",
      "content_block_start:0",
      "content_block_delta:0",
      "content_block_stop:0",
      "content_block_start:1",
      "content_block_delta:1",
      "content_block_delta:1",
      "content_block_stop:1",
      "content_block_start:2",
      "content_block_delta:2",
      "content_block_stop:2",
      "message_delta",
      "message_stop",
    ]);
    const r = accumulate(events);
    expect(r.content.map((b) => b.json ?? b.text)).toEqual(["Let me check.", '{"x":1}', "{}"]);
    expect(r.usage).toEqual({ input_tokens: 50, output_tokens: 7, cache_read_input_tokens: 20, cache_creation_input_tokens: 50 });
  });

  it("ends a broken stream with an error event, and a mid-stream provider error too", () => {
    const half = fx.chatTextStream.slice(0, Math.floor(fx.chatTextStream.length / 2));
    const { events, state } = replay(half, 50, { status: 502, message: "stream interrupted" });
    expect(events.at(-1)).toEqual({ event: "error", data: { type: "error", error: { type: "api_error", message: "stream interrupted" } } });
    expect(events.some((e) => e.event === "message_stop")).toBe(false);
    expect(anthropicStreamEnded(state)).toBe(true);

    const st = initAnthropicStreamState({ model: "m", fallbackId: "r" });
    const step = transformToAnthropicStream(st, `data: ${JSON.stringify({ error: { message: "Overloaded", type: "overloaded_error" } })}\n\n`);
    expect(step.output).toBe(`event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })}\n\n`);
  });
});
