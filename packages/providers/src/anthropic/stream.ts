import type { ChatCompletionChunk, TokenUsage } from "@switchyard/contracts";
import { feedSse, flushSse, initialSseState, type SseEvent, type SseParserState } from "../sse";
import type { StreamStep } from "../types";
import { JSON_RESPONSE_TOOL, toFinishReason } from "./chat";
import { parseAnthropicError } from "./errors";
import { mergeUsage, toOpenAiUsage, toTokenUsage, type AnthropicUsage } from "./usage";

/** Everything the Anthropic → OpenAI stream transform remembers between chunks. */
export interface AnthropicStreamState {
  readonly sse: SseParserState;
  readonly clientWantsUsage: boolean;
  /** From message_start; every OpenAI chunk repeats them. */
  readonly id: string;
  readonly model: string;
  readonly created: number;
  /** Anthropic's usage fields as reported so far (message_start, then message_delta). */
  readonly rawUsage: AnthropicUsage | null;
  /**
   * Anthropic block index → OpenAI tool_calls index. Anthropic numbers every content
   * block (text and thinking too); OpenAI numbers tool calls 0, 1, 2…
   */
  readonly toolIndexOfBlock: Readonly<Record<number, number>>;
  /** Blocks that are the JSON response tool: their input streams out as content. */
  readonly jsonBlocks: readonly number[];
  readonly stopReason: string | null;
  readonly sawContent: boolean;
  /** message_stop seen and the final chunks written. */
  readonly done: boolean;
  /** An `error` event arrived: the stream ended early and is not complete. */
  readonly failed: boolean;
}

export function initAnthropicStreamState(opts: { clientWantsUsage: boolean }): AnthropicStreamState {
  return {
    sse: initialSseState,
    clientWantsUsage: opts.clientWantsUsage,
    id: "",
    model: "",
    created: Math.floor(Date.now() / 1000),
    rawUsage: null,
    toolIndexOfBlock: {},
    jsonBlocks: [],
    stopReason: null,
    sawContent: false,
    done: false,
    failed: false,
  };
}

export function anthropicStreamUsage(state: AnthropicStreamState): TokenUsage | null {
  return state.rawUsage ? toTokenUsage(state.rawUsage) : null;
}

type Delta = ChatCompletionChunk["choices"][number]["delta"];
type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const frame = (payload: unknown) => `data: ${JSON.stringify(payload)}\n\n`;

function chunk(s: AnthropicStreamState, delta: Delta, finishReason: ChatCompletionChunk["choices"][number]["finish_reason"] = null): string {
  const c: ChatCompletionChunk = {
    id: s.id,
    object: "chat.completion.chunk",
    created: s.created,
    model: s.model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
  return frame(c);
}

/** What one Anthropic event turns into: the next state and the OpenAI frames to send. */
function applyEvent(s: AnthropicStreamState, data: Json): { state: AnthropicStreamState; output: string; content: boolean } {
  const none = { state: s, output: "", content: false };
  const index = typeof data.index === "number" ? data.index : -1;
  switch (data.type) {
    case "message_start": {
      const m = isObj(data.message) ? data.message : {};
      const state: AnthropicStreamState = {
        ...s,
        id: typeof m.id === "string" ? m.id : s.id,
        model: typeof m.model === "string" ? m.model : s.model,
        rawUsage: mergeUsage(s.rawUsage ?? {}, m.usage),
      };
      // OpenAI's first chunk announces the role; it is not content yet.
      return { state, output: chunk(state, { role: "assistant", content: "" }), content: false };
    }
    case "content_block_start": {
      const b = isObj(data.content_block) ? data.content_block : {};
      if (b.type === "text" && typeof b.text === "string" && b.text !== "") return { state: s, output: chunk(s, { content: b.text }), content: true };
      if (b.type === "thinking" && typeof b.thinking === "string" && b.thinking !== "") {
        return { state: s, output: chunk(s, { reasoning_content: b.thinking }), content: true };
      }
      if (b.type !== "tool_use" || typeof b.name !== "string") return none;
      if (b.name === JSON_RESPONSE_TOOL) return { ...none, state: { ...s, jsonBlocks: [...s.jsonBlocks, index] } };
      const toolIndex = Object.keys(s.toolIndexOfBlock).length;
      const state = { ...s, toolIndexOfBlock: { ...s.toolIndexOfBlock, [index]: toolIndex } };
      const id = typeof b.id === "string" ? b.id : "";
      return { state, output: chunk(s, { tool_calls: [{ index: toolIndex, id, type: "function", function: { name: b.name, arguments: "" } }] }), content: true };
    }
    case "content_block_delta": {
      const d = isObj(data.delta) ? data.delta : {};
      if (d.type === "text_delta" && typeof d.text === "string" && d.text !== "") return { state: s, output: chunk(s, { content: d.text }), content: true };
      if (d.type === "thinking_delta" && typeof d.thinking === "string" && d.thinking !== "") {
        return { state: s, output: chunk(s, { reasoning_content: d.thinking }), content: true };
      }
      if (d.type === "input_json_delta" && typeof d.partial_json === "string" && d.partial_json !== "") {
        if (s.jsonBlocks.includes(index)) return { state: s, output: chunk(s, { content: d.partial_json }), content: true };
        const toolIndex = s.toolIndexOfBlock[index];
        if (toolIndex === undefined) return none;
        return { state: s, output: chunk(s, { tool_calls: [{ index: toolIndex, function: { arguments: d.partial_json } }] }), content: true };
      }
      // signature_delta, citations_delta, empty fragments: nothing an OpenAI client can use.
      return none;
    }
    case "message_delta": {
      const d = isObj(data.delta) ? data.delta : {};
      const state: AnthropicStreamState = {
        ...s,
        stopReason: typeof d.stop_reason === "string" ? d.stop_reason : s.stopReason,
        rawUsage: mergeUsage(s.rawUsage ?? {}, data.usage),
      };
      return { ...none, state };
    }
    case "message_stop": {
      const finish = toFinishReason(s.stopReason, Object.keys(s.toolIndexOfBlock).length > 0) ?? "stop";
      let output = chunk(s, {}, finish);
      const usage = anthropicStreamUsage(s);
      if (s.clientWantsUsage && usage) {
        output += frame({ id: s.id, object: "chat.completion.chunk", created: s.created, model: s.model, choices: [], usage: toOpenAiUsage(usage) });
      }
      return { state: { ...s, done: true }, output: `${output}data: [DONE]\n\n`, content: false };
    }
    case "error": {
      // Anthropic ends the stream with this event (e.g. overloaded_error): pass it on in
      // the shape OpenAI clients raise on, and stop. No [DONE]: the answer is incomplete.
      const e = parseAnthropicError(data);
      const error = { message: e.message ?? "The provider's stream failed.", type: e.type ?? "api_error", code: null, param: null };
      return { state: { ...s, failed: true }, output: frame({ error }), content: false };
    }
    default:
      // ping, content_block_stop, and event types added later.
      return none;
  }
}

function applyEvents(state: AnthropicStreamState, sse: SseParserState, events: SseEvent[]): StreamStep<AnthropicStreamState> {
  let s: AnthropicStreamState = { ...state, sse };
  let output = "";
  let firstContent = false;
  for (const ev of events) {
    if (s.done || s.failed) break;
    if (ev.data === null) continue;
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch {
      continue; // not an event we can read; Anthropic sends none
    }
    if (!isObj(data)) continue;
    // The `type` inside the data is authoritative; the `event:` line is a copy of it.
    if (typeof data.type !== "string" && ev.event) data = { ...data, type: ev.event };
    const step = applyEvent(s, data as Json);
    s = step.state;
    output += step.output;
    if (step.content && !s.sawContent) {
      s = { ...s, sawContent: true };
      firstContent = true;
    }
  }
  return { state: s, output, firstContent };
}

/** Anthropic SSE text in (any split), OpenAI `chat.completion.chunk` SSE out, as events complete. */
export function transformAnthropicStream(state: AnthropicStreamState, text: string): StreamStep<AnthropicStreamState> {
  const { state: sse, events } = feedSse(state.sse, text);
  return applyEvents(state, sse, events);
}

export function finishAnthropicStream(state: AnthropicStreamState): StreamStep<AnthropicStreamState> {
  const { state: sse, events } = flushSse(state.sse);
  return applyEvents(state, sse, events);
}
