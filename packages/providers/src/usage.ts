import type { ChatCompletion, TokenUsage } from "@switchyard/contracts";

/**
 * TokenUsage in OpenAI's usage shape, for translated replies and final stream chunks.
 * Each provider reports the details it has: `reasoning` adds completion_tokens_details
 * (Gemini's thoughts), `cacheWrite` adds prompt_tokens_details.cache_write_tokens
 * (Anthropic's cache creation).
 */
export function toOpenAiUsage(
  u: TokenUsage,
  details: { reasoning?: boolean; cacheWrite?: boolean } = {},
): NonNullable<ChatCompletion["usage"]> {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: details.cacheWrite
      ? { cached_tokens: u.cachedInputTokens, cache_write_tokens: u.cacheWriteTokens }
      : { cached_tokens: u.cachedInputTokens },
    ...(details.reasoning ? { completion_tokens_details: { reasoning_tokens: u.reasoningTokens } } : {}),
  };
}
