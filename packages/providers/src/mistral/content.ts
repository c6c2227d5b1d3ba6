import type { ChatToolCall } from "@switchyard/contracts";

/**
 * Mistral's message content is a string, or (reasoning models, references) a typed
 * array: `{type:"text", text}` and `{type:"thinking", thinking:[{type:"text", text}]}`.
 * OpenAI clients expect a string, so text parts become `content` and thinking parts
 * become `reasoning_content` (DeepSeek's field, which OpenAI-compatible UIs show).
 */
export function splitMistralContent(content: unknown): { text: string | null; reasoning: string } {
  if (typeof content === "string") return { text: content, reasoning: "" };
  if (!Array.isArray(content)) return { text: null, reasoning: "" };
  let text: string | null = null;
  let reasoning = "";
  for (const part of content as unknown[]) {
    if (typeof part !== "object" || part === null) continue;
    const p = part as { type?: unknown; text?: unknown; thinking?: unknown };
    if (p.type === "text" && typeof p.text === "string") text = (text ?? "") + p.text;
    else if (p.type === "thinking") reasoning += textOf(p.thinking);
  }
  return { text, reasoning };
}

function textOf(v: unknown): string {
  if (typeof v === "string") return v;
  if (!Array.isArray(v)) return "";
  return (v as unknown[])
    .map((c) => (typeof c === "object" && c !== null && typeof (c as { text?: unknown }).text === "string" ? (c as { text: string }).text : ""))
    .join("");
}

interface MistralToolCall {
  id?: unknown;
  index?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

const str = (v: unknown): string => (typeof v === "string" ? v : v == null ? "" : JSON.stringify(v));

/** Mistral omits `type` on tool calls (and may send arguments as an object); OpenAI SDKs need both right. */
export function toOpenAiToolCall(call: MistralToolCall): ChatToolCall {
  return { id: str(call.id), type: "function", function: { name: str(call.function?.name), arguments: str(call.function?.arguments) } };
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | null;

/** Mistral's finish reasons → OpenAI's; `error` has no OpenAI counterpart and stays null. */
export function mapMistralFinishReason(reason: unknown): FinishReason {
  switch (reason) {
    case "stop":
    case "length":
    case "tool_calls":
    case "content_filter":
      return reason;
    case "model_length":
      return "length";
    default:
      return null;
  }
}
