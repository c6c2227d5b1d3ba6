import type { ChatCompletionChunk, TokenUsage } from "@switchyard/contracts";
import { feedSse, flushSse, initialSseState, type SseEvent, type SseParserState } from "../sse";
import type { StreamStep } from "../types";
import { mapMistralFinishReason, splitMistralContent, toOpenAiToolCall } from "./content";
import { toMistralTokenUsage, toOpenAiUsage } from "./usage";

/** Everything the Mistral stream transform remembers between chunks. */
export interface MistralStreamState {
  readonly sse: SseParserState;
  readonly clientWantsUsage: boolean;
  readonly usage: TokenUsage | null;
  readonly sawContent: boolean;
  readonly done: boolean;
  /** Tool calls started so far, per choice index (Mistral's stream deltas carry no `index`). */
  readonly toolCalls: Readonly<Record<number, number>>;
}

export function initMistralStreamState(opts: { clientWantsUsage: boolean }): MistralStreamState {
  return { sse: initialSseState, clientWantsUsage: opts.clientWantsUsage, usage: null, sawContent: false, done: false, toolCalls: {} };
}

interface MistralDelta {
  role?: unknown;
  content?: unknown;
  tool_calls?: unknown;
}
interface MistralChunk {
  id?: unknown;
  created?: unknown;
  model?: unknown;
  choices?: { index?: unknown; delta?: MistralDelta; finish_reason?: unknown }[];
  usage?: unknown;
}
type Delta = ChatCompletionChunk["choices"][number]["delta"];
type ToolCallDelta = NonNullable<Delta["tool_calls"]>[number];

const frame = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;

/** A Mistral delta as OpenAI's: string content, thinking as reasoning_content, indexed typed tool calls. */
function toOpenAiDelta(delta: MistralDelta, started: number): { delta: Delta; started: number } {
  const out: Delta = {};
  if (delta.role === "assistant") out.role = "assistant";
  if (delta.content !== undefined) {
    const { text, reasoning } = splitMistralContent(delta.content);
    if (reasoning) out.reasoning_content = reasoning;
    // A thinking-only array has no content; a null content stays null, as Mistral sent it.
    if (text !== null || delta.content === null) out.content = text;
  }
  if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) {
    const calls: ToolCallDelta[] = [];
    for (const raw of delta.tool_calls as Parameters<typeof toOpenAiToolCall>[0][]) {
      const call = toOpenAiToolCall(raw);
      let index: number;
      if (typeof raw.index === "number") {
        index = raw.index;
        started = Math.max(started, index + 1);
      } else if (raw.id != null) index = started++;
      else index = Math.max(0, started - 1); // a continuation of the call in progress
      calls.push({ index, ...(raw.id != null ? { id: call.id, type: "function" as const } : {}), function: call.function });
    }
    out.tool_calls = calls;
  }
  return { delta: out, started };
}

const hasContent = (d: Delta) => !!d.content || !!d.reasoning_content || (d.tool_calls?.length ?? 0) > 0;

function applyEvents(state: MistralStreamState, sse: SseParserState, events: SseEvent[]): StreamStep<MistralStreamState> {
  let { usage, sawContent, done } = state;
  const toolCalls = { ...state.toolCalls };
  let output = "";
  let firstContent = false;
  for (const ev of events) {
    if (ev.data === null) continue; // comments and keep-alives
    if (ev.data.trim() === "[DONE]") {
      done = true;
      output += "data: [DONE]\n\n";
      continue;
    }
    let chunk: MistralChunk;
    try {
      chunk = JSON.parse(ev.data) as MistralChunk;
    } catch {
      continue; // an event we cannot parse cannot be translated (a cut stream's last half-event)
    }
    const head = {
      id: typeof chunk.id === "string" ? chunk.id : "",
      object: "chat.completion.chunk" as const,
      created: typeof chunk.created === "number" ? chunk.created : 0,
      model: typeof chunk.model === "string" ? chunk.model : "",
    };
    const choices: ChatCompletionChunk["choices"] = (chunk.choices ?? []).map((c, i) => {
      const index = typeof c.index === "number" ? c.index : i;
      const { delta, started } = toOpenAiDelta(c.delta ?? {}, toolCalls[index] ?? 0);
      toolCalls[index] = started;
      return { index, delta, finish_reason: mapMistralFinishReason(c.finish_reason) };
    });
    if (choices.length > 0) {
      if (!sawContent && choices.some((c) => hasContent(c.delta))) {
        sawContent = true;
        firstContent = true;
      }
      output += frame({ ...head, choices } satisfies ChatCompletionChunk);
    }
    const chunkUsage = toMistralTokenUsage(chunk.usage);
    if (chunkUsage) {
      usage = chunkUsage;
      // Mistral puts usage on the last content chunk; OpenAI clients expect it on a
      // usage-only chunk of its own, and only when they asked for it.
      if (state.clientWantsUsage) output += frame({ ...head, choices: [], usage: toOpenAiUsage(chunkUsage) } satisfies ChatCompletionChunk);
    }
  }
  return { state: { ...state, sse, usage, sawContent, done, toolCalls }, output, firstContent };
}

export function transformMistralStream(state: MistralStreamState, text: string): StreamStep<MistralStreamState> {
  const { state: sse, events } = feedSse(state.sse, text);
  return applyEvents(state, sse, events);
}

export function finishMistralStream(state: MistralStreamState): StreamStep<MistralStreamState> {
  const { state: sse, events } = flushSse(state.sse);
  return applyEvents(state, sse, events);
}
