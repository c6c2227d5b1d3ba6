import type { ChatCompletion, TokenUsage } from "@switchyard/contracts";
import { toAnthropicUsage, type AnthropicUsage } from "./usage";

export type AnthropicStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "pause_turn" | "refusal";

export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/** Anthropic's non-streaming reply. */
export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/**
 * OpenAI finish_reason → Anthropic stop_reason. OpenAI's "stop" does not say whether a
 * stop sequence ended the turn, so it is always end_turn.
 */
export function toAnthropicStopReason(finish: string | null | undefined): AnthropicStopReason {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/** Anthropic ids start with msg_; keep the provider's id inside for correlation. */
export function toAnthropicMessageId(id: string | null | undefined, fallback: string): string {
  const base = id && id.length > 0 ? id : fallback;
  return base.startsWith("msg_") ? base : `msg_${base}`;
}

/**
 * Tool arguments are a JSON string in OpenAI, an object in Anthropic. A model that
 * produced something else (truncated, not an object) still gets its text through, under
 * a key that says what happened, rather than being silently emptied.
 */
export function parseToolInput(args: string): Record<string, unknown> {
  if (args.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(args);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  return { _unparsed_arguments: args };
}

/**
 * OpenAI chat completion → Anthropic Message. `usage` is the adapter's TokenUsage (the
 * same numbers the request is billed on); `model` is the public model name.
 */
export function chatCompletionToAnthropicMessage(completion: ChatCompletion, usage: TokenUsage | null, model: string): AnthropicMessage {
  const choice = completion.choices[0];
  const content: AnthropicContentBlock[] = [];
  const msg = choice?.message;
  if (typeof msg?.content === "string" && msg.content !== "") content.push({ type: "text", text: msg.content });
  else if (typeof msg?.refusal === "string" && msg.refusal !== "") content.push({ type: "text", text: msg.refusal });
  for (const call of msg?.tool_calls ?? []) {
    content.push({ type: "tool_use", id: call.id, name: call.function.name, input: parseToolInput(call.function.arguments) });
  }
  const refused = typeof msg?.refusal === "string" && msg.refusal !== "" && !msg.content;
  return {
    id: toAnthropicMessageId(completion.id, "unknown"),
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: refused ? "refusal" : toAnthropicStopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(usage),
  };
}
