import type { ChatCompletionChunk, TokenUsage } from "@switchyard/contracts";
import type { StreamStep } from "../types";
import { mapCohereFinishReason, type FinishReason } from "./chat";
import { toCohereTokenUsage, toOpenAiUsage } from "./usage";

/** Everything the Cohere stream transform remembers between chunks. */
export interface CohereStreamState {
  /** Text received after the last complete line. */
  readonly buffer: string;
  readonly clientWantsUsage: boolean;
  /** Chunk fields OpenAI clients expect; Cohere's events carry only the id (message-start). */
  readonly id: string;
  readonly model: string;
  readonly created: number;
  readonly usage: TokenUsage | null;
  readonly sawContent: boolean;
  readonly done: boolean;
  /** Content block index → its type ("text" or "thinking"). */
  readonly blockTypes: Readonly<Record<number, string>>;
  /** Cohere tool-call index → the OpenAI tool_calls index (dense, in order of appearance). */
  readonly toolIndex: Readonly<Record<number, number>>;
}

/**
 * `model` is the public model name for the chunks (Cohere's stream does not name it);
 * the proxy passes it when it can, "" otherwise.
 */
export function initCohereStreamState(opts: { clientWantsUsage: boolean; model?: string; created?: number }): CohereStreamState {
  return {
    buffer: "",
    clientWantsUsage: opts.clientWantsUsage,
    id: "",
    model: opts.model ?? "",
    created: opts.created ?? Math.floor(Date.now() / 1000),
    usage: null,
    sawContent: false,
    done: false,
    blockTypes: {},
    toolIndex: {},
  };
}

interface CohereEvent {
  type?: unknown;
  id?: unknown;
  index?: unknown;
  delta?: {
    finish_reason?: unknown;
    usage?: unknown;
    message?: {
      content?: { type?: unknown; text?: unknown; thinking?: unknown };
      tool_plan?: unknown;
      tool_calls?: { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
    };
  };
}

type Delta = ChatCompletionChunk["choices"][number]["delta"];
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/**
 * One payload per line: Cohere v2 streams Server-Sent Events (`event:` + one-line
 * `data: {…}`), v1 streamed bare JSON lines; both are read the same way.
 */
function payloadOf(line: string): string | null {
  const t = line.trim();
  if (t.startsWith("data:")) return t.slice(5).trim();
  if (t.startsWith("{")) return t;
  return null; // event:, id:, retry:, comments, blank separators
}

type Mutable = { -readonly [K in keyof CohereStreamState]: CohereStreamState[K] };

function applyLines(prev: CohereStreamState, buffer: string, lines: string[]): StreamStep<CohereStreamState> {
  const blockTypes: Record<number, string> = { ...prev.blockTypes };
  const toolIndex: Record<number, number> = { ...prev.toolIndex };
  const s: Mutable = { ...prev, buffer, blockTypes, toolIndex };
  let output = "";
  let firstContent = false;
  const emit = (delta: Delta, finishReason: FinishReason = null) => {
    const chunk: ChatCompletionChunk = { id: s.id, object: "chat.completion.chunk", created: s.created, model: s.model, choices: [{ index: 0, delta, finish_reason: finishReason }] };
    output += `data: ${JSON.stringify(chunk)}\n\n`;
    if (!s.sawContent && (delta.content || delta.reasoning_content || delta.tool_calls)) {
      s.sawContent = true;
      firstContent = true;
    }
  };
  for (const line of lines) {
    const payload = payloadOf(line);
    if (payload === null || payload === "" || s.done) continue;
    let ev: CohereEvent;
    try {
      ev = JSON.parse(payload) as CohereEvent;
    } catch {
      continue; // a broken line cannot be translated; the stream goes on
    }
    const index = typeof ev.index === "number" ? ev.index : 0;
    const message = ev.delta?.message;
    switch (ev.type) {
      case "message-start":
        s.id = str(ev.id);
        emit({ role: "assistant", content: "" });
        break;
      case "content-start":
      case "content-delta": {
        const c = message?.content;
        if (ev.type === "content-start") blockTypes[index] = str(c?.type) || "text";
        const thinking = s.blockTypes[index] === "thinking" || typeof c?.thinking === "string";
        const text = thinking ? str(c?.thinking) : str(c?.text);
        if (text !== "") emit(thinking ? { reasoning_content: text } : { content: text });
        break;
      }
      case "tool-plan-delta": {
        const plan = str(message?.tool_plan);
        if (plan !== "") emit({ reasoning_content: plan });
        break;
      }
      case "tool-call-start": {
        const at = Object.keys(toolIndex).length;
        toolIndex[index] = at;
        const call = message?.tool_calls;
        emit({ tool_calls: [{ index: at, id: str(call?.id), type: "function", function: { name: str(call?.function?.name), arguments: str(call?.function?.arguments) } }] });
        break;
      }
      case "tool-call-delta": {
        const args = str(message?.tool_calls?.function?.arguments);
        if (args !== "") emit({ tool_calls: [{ index: s.toolIndex[index] ?? 0, function: { arguments: args } }] });
        break;
      }
      case "message-end": {
        emit({}, mapCohereFinishReason(ev.delta?.finish_reason));
        s.usage = toCohereTokenUsage(ev.delta?.usage);
        if (s.usage && s.clientWantsUsage) {
          const chunk: ChatCompletionChunk = { id: s.id, object: "chat.completion.chunk", created: s.created, model: s.model, choices: [], usage: toOpenAiUsage(s.usage) };
          output += `data: ${JSON.stringify(chunk)}\n\n`;
        }
        output += "data: [DONE]\n\n";
        s.done = true;
        break;
      }
      default:
        // content-end, tool-call-end, citation-start/end, debug: nothing an OpenAI client reads.
        break;
    }
  }
  return { state: s, output, firstContent };
}

export function transformCohereStream(state: CohereStreamState, text: string): StreamStep<CohereStreamState> {
  const lines = (state.buffer + text).split(/\r\n|\r|\n/);
  const rest = lines.pop() ?? "";
  return applyLines(state, rest, lines);
}

export function finishCohereStream(state: CohereStreamState): StreamStep<CohereStreamState> {
  return applyLines(state, "", state.buffer === "" ? [] : [state.buffer]);
}
