import { toOpenAiUsage as sharedToOpenAiUsage } from "../usage";
import type { ChatCompletion, TokenUsage } from "@switchyard/contracts";

/** Anthropic's usage object (Messages reply, message_start, message_delta). */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

const count = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null);

/**
 * Anthropic reports `input_tokens` WITHOUT the cached parts; OpenAI (and TokenUsage)
 * count prompt tokens including them. So inputTokens = uncached + cache reads + cache
 * writes, with the two cache counts as subsets (pricing bills each at its own rate).
 * Anthropic has no separate reasoning count: thinking tokens are inside output_tokens.
 */
export function toTokenUsage(usage: unknown): TokenUsage | null {
  if (typeof usage !== "object" || usage === null) return null;
  const u = usage as Record<string, unknown>;
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  if (input === null && output === null) return null;
  const cacheRead = count(u.cache_read_input_tokens) ?? 0;
  const cacheWrite = count(u.cache_creation_input_tokens) ?? 0;
  return {
    inputTokens: (input ?? 0) + cacheRead + cacheWrite,
    outputTokens: output ?? 0,
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: 0,
  };
}

const USAGE_FIELDS = ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"] as const;

/**
 * Folds a later usage report into an earlier one, field by field: message_start has the
 * input counts, message_delta the final output_tokens (and, in newer API versions, the
 * cumulative input counts again). A field the later report lacks keeps its earlier value.
 */
export function mergeUsage(earlier: AnthropicUsage, later: unknown): AnthropicUsage {
  if (typeof later !== "object" || later === null) return earlier;
  const u = later as Record<string, unknown>;
  const merged: AnthropicUsage = { ...earlier };
  for (const f of USAGE_FIELDS) {
    const v = count(u[f]);
    if (v !== null) merged[f] = v;
  }
  return merged;
}

/** Usage of a non-streaming Messages reply. */
export function extractAnthropicChatUsage(body: unknown): TokenUsage | null {
  if (typeof body !== "object" || body === null || !("usage" in body)) return null;
  return toTokenUsage(body.usage);
}

/** TokenUsage in OpenAI's usage shape (shared rules in ../usage). */
export const toOpenAiUsage = (u: TokenUsage): NonNullable<ChatCompletion["usage"]> => sharedToOpenAiUsage(u, { cacheWrite: true });
