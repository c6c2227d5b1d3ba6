import type { ChatCompletionChunk, TokenUsage } from "@switchyard/contracts";
import { feedSse, flushSse, initialSseState, type SseEvent, type SseParserState } from "../../sse";
import { anthropicErrorBody } from "./errors";
import { toAnthropicMessageId, toAnthropicStopReason, type AnthropicStopReason } from "./response";
import { toAnthropicUsage, tokenUsageFromOpenAi } from "./usage";

/**
 * Re-encodes an adapter's OpenAI `chat.completion.chunk` SSE (whatever the provider)
 * as Anthropic's Messages event stream, event by event as chunks arrive. It re-parses
 * the adapter's output: one extra JSON.parse per chunk, on this endpoint only, in
 * exchange for a single stream transform per provider.
 */
export interface AnthropicStreamState {
  readonly sse: SseParserState;
  /** Public model name reported in message_start. */
  readonly model: string;
  readonly fallbackId: string;
  readonly started: boolean;
  readonly messageId: string;
  /** Anthropic index of the next block to open. */
  readonly nextIndex: number;
  /** The block currently open, if any. */
  readonly open: { kind: "text" | "tool"; index: number } | null;
  /** OpenAI tool_call index → Anthropic block index. */
  readonly toolBlocks: Readonly<Record<number, number>>;
  readonly stopReason: AnthropicStopReason | null;
  readonly usage: TokenUsage | null;
  /** message_stop (or an error event) was written: nothing more goes out. */
  readonly ended: boolean;
}

export function initAnthropicStreamState(opts: { model: string; fallbackId: string }): AnthropicStreamState {
  return {
    sse: initialSseState,
    model: opts.model,
    fallbackId: opts.fallbackId,
    started: false,
    messageId: toAnthropicMessageId(null, opts.fallbackId),
    nextIndex: 0,
    open: null,
    toolBlocks: {},
    stopReason: null,
    usage: null,
    ended: false,
  };
}

const frame = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Draft = Mutable<AnthropicStreamState> & { toolBlocks: Record<number, number> };

function start(s: Draft, id: string | undefined): string {
  if (s.started) return "";
  s.started = true;
  s.messageId = toAnthropicMessageId(id, s.fallbackId);
  const usage = toAnthropicUsage(s.usage);
  return frame("message_start", {
    type: "message_start",
    message: {
      id: s.messageId,
      type: "message",
      role: "assistant",
      model: s.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // OpenAI-shaped streams report usage only at the end; message_delta carries it all.
      usage: { ...usage, output_tokens: 0 },
    },
  });
}

function closeOpen(s: Draft): string {
  if (!s.open) return "";
  const out = frame("content_block_stop", { type: "content_block_stop", index: s.open.index });
  s.open = null;
  return out;
}

function openBlock(s: Draft, kind: "text" | "tool"): number {
  const index = s.nextIndex++;
  s.open = { kind, index };
  return index;
}

function textDelta(s: Draft, text: string): string {
  let out = "";
  if (s.open?.kind !== "text") {
    out += closeOpen(s);
    const index = openBlock(s, "text");
    out += frame("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } });
  }
  const index = (s.open as { index: number }).index;
  return out + frame("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text } });
}

type ToolCallDelta = NonNullable<ChatCompletionChunk["choices"][number]["delta"]["tool_calls"]>[number];

function toolDelta(s: Draft, tc: ToolCallDelta): string {
  let out = "";
  let index = s.toolBlocks[tc.index];
  if (index === undefined) {
    out += closeOpen(s);
    index = openBlock(s, "tool");
    s.toolBlocks = { ...s.toolBlocks, [tc.index]: index };
    const id = tc.id ?? `toolu_${s.messageId}_${tc.index}`;
    out += frame("content_block_start", {
      type: "content_block_start",
      index,
      content_block: { type: "tool_use", id, name: tc.function?.name ?? "", input: {} },
    });
  }
  // A delta for a tool block already closed (providers that interleave parallel calls)
  // still goes to its own index: clients accumulate by index.
  const args = tc.function?.arguments;
  if (args) out += frame("content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: args } });
  return out;
}

function finishMessage(s: Draft): string {
  let out = start(s, undefined) + closeOpen(s);
  const usage = toAnthropicUsage(s.usage);
  out += frame("message_delta", {
    type: "message_delta",
    delta: { stop_reason: s.stopReason ?? "end_turn", stop_sequence: null },
    usage,
  });
  out += frame("message_stop", { type: "message_stop" });
  s.ended = true;
  return out;
}

function errorEvent(s: Draft, status: number, message: string): string {
  s.ended = true;
  return frame("error", anthropicErrorBody(status, message));
}

interface ChunkWithError extends Partial<ChatCompletionChunk> {
  error?: { message?: unknown; type?: unknown };
}

function applyChunk(s: Draft, chunk: ChunkWithError): string {
  if (chunk.error) {
    const message = typeof chunk.error.message === "string" ? chunk.error.message : "The provider reported an error mid-stream.";
    return closeOpen(s) + errorEvent(s, chunk.error.type === "overloaded_error" ? 529 : 500, message);
  }
  let out = start(s, chunk.id);
  const usage = tokenUsageFromOpenAi(chunk.usage);
  if (usage) s.usage = usage;
  // Anthropic has no `n`: only the first choice is carried.
  const choice = chunk.choices?.find((c) => c.index === 0);
  if (!choice) return out;
  const d = choice.delta ?? {};
  if (typeof d.content === "string" && d.content !== "") out += textDelta(s, d.content);
  if (typeof d.refusal === "string" && d.refusal !== "") out += textDelta(s, d.refusal);
  for (const tc of d.tool_calls ?? []) out += toolDelta(s, tc);
  if (choice.finish_reason) {
    s.stopReason = d.refusal ? "refusal" : toAnthropicStopReason(choice.finish_reason);
    out += closeOpen(s);
  }
  return out;
}

export interface AnthropicStreamStep {
  state: AnthropicStreamState;
  /** Anthropic SSE to write to the client now. */
  output: string;
}

function applyEvents(state: AnthropicStreamState, sse: SseParserState, events: SseEvent[]): AnthropicStreamStep {
  const s: Draft = { ...state, sse };
  let output = "";
  for (const ev of events) {
    if (s.ended || ev.data === null) continue;
    // message_delta waits for [DONE]: the usage chunk comes after the finish_reason chunk.
    if (ev.data.trim() === "[DONE]") {
      output += finishMessage(s);
      continue;
    }
    let chunk: ChunkWithError;
    try {
      chunk = JSON.parse(ev.data) as ChunkWithError;
    } catch {
      continue; // an adapter's output is always JSON; anything else has no Anthropic form
    }
    if (typeof chunk !== "object" || chunk === null) continue;
    output += applyChunk(s, chunk);
  }
  return { state: s, output };
}

/** Feeds the adapter's OpenAI SSE output; returns Anthropic SSE. */
export function transformToAnthropicStream(state: AnthropicStreamState, openAiSse: string): AnthropicStreamStep {
  const { state: sse, events } = feedSse(state.sse, openAiSse);
  return applyEvents(state, sse, events);
}

/**
 * The provider's stream is over. A stream that ended normally but without `[DONE]` is
 * closed properly; a broken one (`failure` set) ends with an `event: error` frame, the
 * way Anthropic reports a failure after the 200 went out.
 */
export function finishAnthropicStream(state: AnthropicStreamState, failure: { status: number; message: string } | null): AnthropicStreamStep {
  const flushed = flushSse(state.sse);
  const step = applyEvents(state, flushed.state, flushed.events);
  if (step.state.ended) return step;
  const s: Draft = { ...step.state };
  const output = failure ? closeOpen(s) + errorEvent(s, failure.status, failure.message) : finishMessage(s);
  return { state: s, output: step.output + output };
}

/** Whether message_stop went out (the client got a whole message). */
export function anthropicStreamEnded(state: AnthropicStreamState): boolean {
  return state.ended;
}
