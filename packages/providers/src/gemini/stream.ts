import type { ChatCompletionChunk, TokenUsage } from "@switchyard/contracts";
import { feedSse, flushSse, initialSseState, type SseEvent, type SseParserState } from "../sse";
import type { StreamStep } from "../types";
import { mapFinishReason, toOpenAiToolCall, toolCallId, type GeminiResponse } from "./chat";
import { parseGeminiError } from "./errors";
import { geminiTokenUsage, toOpenAiUsage } from "./usage";

/** What the transform remembers about one candidate (OpenAI choice). */
interface CandidateState {
  /** The first delta of a choice carries `role: "assistant"`. */
  readonly started: boolean;
  /** Tool calls emitted so far: the next one's index. */
  readonly toolCalls: number;
  readonly finished: boolean;
}

/** Everything the Gemini stream transform remembers between chunks. */
export interface GeminiStreamState {
  readonly sse: SseParserState;
  readonly clientWantsUsage: boolean;
  /** From the first chunk's responseId; every chunk and tool call id derive from it. */
  readonly responseId: string | null;
  readonly created: number;
  readonly model: string;
  /** Gemini's usageMetadata is cumulative: the last one seen is the answer. */
  readonly usage: TokenUsage | null;
  readonly candidates: Readonly<Record<number, CandidateState>>;
  readonly sawContent: boolean;
  /** Every candidate seen has its finishReason (Gemini has no end-of-stream marker). */
  readonly done: boolean;
  /** The provider sent an error event mid-stream. */
  readonly failed: boolean;
  /** `data: [DONE]` written. */
  readonly closed: boolean;
}

export function initGeminiStreamState(opts: { clientWantsUsage: boolean }): GeminiStreamState {
  return {
    sse: initialSseState,
    clientWantsUsage: opts.clientWantsUsage,
    responseId: null,
    created: Math.floor(Date.now() / 1000),
    model: "gemini",
    usage: null,
    candidates: {},
    sawContent: false,
    done: false,
    failed: false,
    closed: false,
  };
}

const NEW_CANDIDATE: CandidateState = { started: false, toolCalls: 0, finished: false };

type Delta = ChatCompletionChunk["choices"][number]["delta"];

interface Acc {
  state: GeminiStreamState;
  candidates: Record<number, CandidateState>;
  output: string;
  firstContent: boolean;
}

function frame(acc: Acc, choices: ChatCompletionChunk["choices"], usage?: ChatCompletionChunk["usage"]): void {
  const { state } = acc;
  const chunk: ChatCompletionChunk = {
    id: `chatcmpl-${state.responseId ?? "gemini"}`,
    object: "chat.completion.chunk",
    created: state.created,
    model: state.model,
    choices,
  };
  if (usage) chunk.usage = usage;
  acc.output += `data: ${JSON.stringify(chunk)}\n\n`;
}

function emitDelta(acc: Acc, index: number, delta: Delta): void {
  const c = acc.candidates[index] ?? NEW_CANDIDATE;
  const withRole: Delta = c.started ? delta : { role: "assistant", ...delta };
  acc.candidates[index] = { ...c, started: true };
  frame(acc, [{ index, delta: withRole, finish_reason: null }]);
  if (!acc.state.sawContent) {
    acc.state = { ...acc.state, sawContent: true };
    acc.firstContent = true;
  }
}

/** One GenerateContentResponse → OpenAI chunks, in part order, as soon as it arrives. */
function applyResponse(acc: Acc, res: GeminiResponse): void {
  const usage = geminiTokenUsage(res.usageMetadata);
  acc.state = {
    ...acc.state,
    responseId: acc.state.responseId ?? res.responseId ?? null,
    model: res.modelVersion ?? acc.state.model,
    usage: usage ?? acc.state.usage,
  };
  const candidates = Array.isArray(res.candidates) ? res.candidates : [];
  candidates.forEach((cand, i) => {
    const index = cand.index ?? i;
    for (const part of cand.content?.parts ?? []) {
      if (part.functionCall) {
        // A Gemini function call arrives whole: one delta with the full arguments.
        const position = (acc.candidates[index] ?? NEW_CANDIDATE).toolCalls;
        const call = toOpenAiToolCall({ ...part, functionCall: part.functionCall }, toolCallId(acc.state.responseId ?? undefined, index, position, part.functionCall.id));
        emitDelta(acc, index, { tool_calls: [{ index: position, ...call }] });
        const c = acc.candidates[index] ?? NEW_CANDIDATE;
        acc.candidates[index] = { ...c, toolCalls: c.toolCalls + 1 };
      } else if (typeof part.text === "string" && part.text !== "") {
        // The last chunk often holds an empty text part that only carries a thoughtSignature: nothing to send.
        emitDelta(acc, index, part.thought === true ? { reasoning_content: part.text } : { content: part.text });
      }
    }
    if (cand.finishReason) {
      const c = acc.candidates[index] ?? NEW_CANDIDATE;
      const delta: Delta = c.started ? {} : { role: "assistant", content: "" };
      frame(acc, [{ index, delta, finish_reason: mapFinishReason(cand.finishReason, c.toolCalls > 0) }]);
      acc.candidates[index] = { ...c, started: true, finished: true };
    }
  });
  // A blocked prompt: no candidates, only promptFeedback.blockReason; the answer is over.
  if (candidates.length === 0 && res.promptFeedback?.blockReason) {
    frame(acc, [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "content_filter" }]);
    acc.candidates[0] = { started: true, toolCalls: 0, finished: true };
  }
}

function applyEvents(state: GeminiStreamState, sse: SseParserState, events: SseEvent[]): StreamStep<GeminiStreamState> {
  const acc: Acc = { state: { ...state, sse }, candidates: { ...state.candidates }, output: "", firstContent: false };
  for (const ev of events) {
    if (ev.data === null || ev.data.trim() === "") continue;
    let res: GeminiResponse;
    try {
      res = JSON.parse(ev.data) as GeminiResponse;
    } catch {
      continue; // not a Gemini response; nothing an OpenAI client could use
    }
    if (res.error !== undefined) {
      // OpenAI's SDK raises an APIError for a data event holding `error`.
      const e = parseGeminiError(res);
      acc.output += `data: ${JSON.stringify({ error: { message: e.message ?? "Gemini stream error", type: e.type, code: e.code, param: null } })}\n\n`;
      acc.state = { ...acc.state, failed: true };
      continue;
    }
    applyResponse(acc, res);
  }
  const all = Object.values(acc.candidates);
  const done = all.length > 0 && all.every((c) => c.finished);
  return { state: { ...acc.state, candidates: acc.candidates, done }, output: acc.output, firstContent: acc.firstContent };
}

export function transformGeminiStream(state: GeminiStreamState, text: string): StreamStep<GeminiStreamState> {
  const { state: sse, events } = feedSse(state.sse, text);
  return applyEvents(state, sse, events);
}

/**
 * End of the provider's stream. Gemini has no end marker; when every candidate finished,
 * the OpenAI ending follows: the usage chunk (if the client asked) and `data: [DONE]`.
 * A stream cut before that gets neither, so the client sees it broke.
 */
export function finishGeminiStream(state: GeminiStreamState): StreamStep<GeminiStreamState> {
  const { state: sse, events } = flushSse(state.sse);
  const step = applyEvents(state, sse, events);
  const s = step.state;
  if (!s.done || s.failed || s.closed) return step;
  let output = step.output;
  if (s.clientWantsUsage && s.usage) {
    const usageChunk: ChatCompletionChunk = {
      id: `chatcmpl-${s.responseId ?? "gemini"}`,
      object: "chat.completion.chunk",
      created: s.created,
      model: s.model,
      choices: [],
      usage: toOpenAiUsage(s.usage),
    };
    output += `data: ${JSON.stringify(usageChunk)}\n\n`;
  }
  output += "data: [DONE]\n\n";
  return { state: { ...s, closed: true }, output, firstContent: step.firstContent };
}
