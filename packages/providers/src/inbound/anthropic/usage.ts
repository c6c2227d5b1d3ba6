import { openAiUsageSchema, type TokenUsage } from "@switchyard/contracts";

/** Anthropic's usage object. `input_tokens` excludes cache reads and writes, unlike OpenAI's prompt_tokens. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

export function toAnthropicUsage(usage: TokenUsage | null): AnthropicUsage {
  if (!usage) return { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens),
    output_tokens: usage.outputTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
  };
}

/**
 * OpenAI usage object (from the final stream chunk) → TokenUsage, including the
 * `prompt_tokens_details.cache_write_tokens` extension adapters of cache-writing
 * providers put there. null when absent or malformed.
 */
export function tokenUsageFromOpenAi(usage: unknown): TokenUsage | null {
  if (usage == null) return null;
  const parsed = openAiUsageSchema.safeParse(usage);
  if (!parsed.success) return null;
  const u = parsed.data;
  const details = u.prompt_tokens_details as { cache_write_tokens?: unknown } | null | undefined;
  const cacheWrite = typeof details?.cache_write_tokens === "number" ? details.cache_write_tokens : 0;
  return {
    inputTokens: u.prompt_tokens,
    outputTokens: u.completion_tokens,
    cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}
