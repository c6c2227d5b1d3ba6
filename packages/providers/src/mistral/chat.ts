import { AppError, type ChatCompletion, type ChatCompletionRequest } from "@switchyard/contracts";
import { openAiHeaders, openAiUrl, resolveBaseUrl } from "../openai/api";
import type { PreparedChatRequest, UpstreamTarget } from "../types";
import { MISTRAL_DEFAULT_BASE_URL } from "./api";
import { mapMistralFinishReason, splitMistralContent, toOpenAiToolCall } from "./content";
import { extractMistralChatUsage, toOpenAiUsage } from "./usage";

/**
 * Mistral rejects unknown body fields with a 422 (`extra_forbidden`), so the body is
 * built from an allowlist of what its chat API accepts; everything else is left out
 * and reported as dropped.
 */
const PASSED = new Set([
  "messages",
  "temperature",
  "top_p",
  "max_tokens",
  "stream",
  "stop",
  "response_format",
  "tools",
  "parallel_tool_calls",
  "presence_penalty",
  "frequency_penalty",
  "n",
  "prediction",
  // Mistral's own parameters, for clients that know them.
  "random_seed",
  "safe_prompt",
  "prompt_mode",
]);

/** OpenAI names Mistral spells differently. */
const RENAMED: Record<string, string> = { seed: "random_seed", max_completion_tokens: "max_tokens" };

/**
 * Honoured without being sent: `model` is replaced, and Mistral always puts usage on
 * its last stream chunk, which is what `stream_options.include_usage` asks for.
 */
const HONOURED = new Set(["model", "stream_options"]);

type Message = ChatCompletionRequest["messages"][number];

function pick(m: Message, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (m[k] !== undefined) out[k] = m[k];
  return out;
}

/**
 * Keeps only the fields Mistral's message models accept (OpenAI SDKs echo back fields
 * such as `refusal`, `annotations` or `name` that would get a 422).
 */
function toMistralMessage(m: Message, at: number): Record<string, unknown> {
  switch (m.role) {
    case "system":
    case "developer":
      return { ...pick(m, ["content"]), role: "system" };
    case "assistant": {
      const out: Record<string, unknown> = { role: "assistant", ...pick(m, ["content", "prefix"]) };
      const calls = m.tool_calls;
      if (Array.isArray(calls) && calls.length > 0) out.tool_calls = calls.map((c) => toOpenAiToolCall(c as Parameters<typeof toOpenAiToolCall>[0]));
      // Mistral refuses an assistant turn with neither content nor tool calls.
      if (out.content == null && out.tool_calls === undefined) out.content = "";
      return out;
    }
    case "tool":
      return { role: "tool", ...pick(m, ["content", "tool_call_id", "name"]) };
    case "user":
      return { role: "user", ...pick(m, ["content"]) };
    default:
      // Mistral has no legacy "function" role; a 400 names it instead of Mistral's 422.
      throw new AppError("invalid_request", `messages[${at}]: the legacy "${m.role}" role is not supported; use tools and tool messages.`, { param: `messages[${at}].role` });
  }
}

export function buildMistralChatBody(request: ChatCompletionRequest, target: UpstreamTarget): { body: Record<string, unknown>; droppedParams: string[] } {
  const body: Record<string, unknown> = { model: target.upstreamModel };
  const droppedParams: string[] = [];
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined || HONOURED.has(key)) continue;
    const renamed = RENAMED[key];
    if (renamed) {
      // The Mistral spelling wins when a client sends both.
      if (value !== null && request[renamed] == null) body[renamed] = value;
    } else if (key === "messages") {
      body.messages = request.messages.map((m, i) => toMistralMessage(m, i));
    } else if (key === "tool_choice") {
      // Mistral's "any" is OpenAI's "required" (it also takes auto, none and {type:"function",…}).
      if (value !== null) body.tool_choice = value === "required" ? "any" : value;
    } else if (PASSED.has(key)) {
      if (value !== null) body[key] = value;
    } else {
      droppedParams.push(key);
    }
  }
  return { body, droppedParams };
}

export function prepareMistralChatRequest(request: ChatCompletionRequest, target: UpstreamTarget): PreparedChatRequest {
  const stream = request.stream === true;
  const { body, droppedParams } = buildMistralChatBody(request, target);
  return {
    http: {
      url: openAiUrl(resolveBaseUrl(target, MISTRAL_DEFAULT_BASE_URL), "/chat/completions"),
      method: "POST",
      headers: openAiHeaders(target, stream),
      body: JSON.stringify(body),
    },
    stream,
    clientWantsUsage: stream && request.stream_options?.include_usage === true,
    droppedParams,
  };
}

interface MistralChoice {
  index?: unknown;
  finish_reason?: unknown;
  message?: { content?: unknown; tool_calls?: unknown };
}

/**
 * Mistral's reply is nearly OpenAI's; it is rebuilt so every client parses it: string
 * content (thinking → reasoning_content), tool calls with `type`, OpenAI finish reasons
 * and usage with cached tokens.
 */
export function translateMistralChatResponse(body: unknown, ctx: { model: string }): ChatCompletion | null {
  if (typeof body !== "object" || body === null) return null;
  const b = body as { id?: unknown; created?: unknown; model?: unknown; choices?: unknown };
  if (!Array.isArray(b.choices)) return null;
  const usage = extractMistralChatUsage(body);
  const out: ChatCompletion = {
    id: typeof b.id === "string" ? b.id : "",
    object: "chat.completion",
    created: typeof b.created === "number" ? b.created : 0,
    model: typeof b.model === "string" ? b.model : ctx.model,
    choices: (b.choices as MistralChoice[]).map((c, i) => {
      const { text, reasoning } = splitMistralContent(c.message?.content);
      const message: ChatCompletion["choices"][number]["message"] = { role: "assistant", content: text };
      const calls = c.message?.tool_calls;
      if (Array.isArray(calls) && calls.length > 0) message.tool_calls = calls.map((t) => toOpenAiToolCall(t as Parameters<typeof toOpenAiToolCall>[0]));
      if (reasoning) message.reasoning_content = reasoning;
      return { index: typeof c.index === "number" ? c.index : i, message, finish_reason: mapMistralFinishReason(c.finish_reason), logprobs: null };
    }),
  };
  if (usage) out.usage = toOpenAiUsage(usage);
  return out;
}
