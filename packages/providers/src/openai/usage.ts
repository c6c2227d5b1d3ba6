import { openAiUsageSchema, type TokenUsage } from "@switchyard/contracts";

/** OpenAI's usage object → TokenUsage; null when it is missing or malformed. */
export function toTokenUsage(usage: unknown): TokenUsage | null {
  if (usage == null) return null;
  const parsed = openAiUsageSchema.safeParse(usage);
  if (!parsed.success) return null;
  const u = parsed.data;
  return {
    inputTokens: u.prompt_tokens,
    outputTokens: u.completion_tokens,
    cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

/** Usage of a non-streaming chat completion body. */
export function extractOpenAiChatUsage(body: unknown): TokenUsage | null {
  if (typeof body !== "object" || body === null || !("usage" in body)) return null;
  return toTokenUsage(body.usage);
}
