import { toOpenAiUsage as sharedToOpenAiUsage } from "../usage";
import type { ChatCompletion, TokenUsage } from "@switchyard/contracts";
import { z } from "zod";

/** Mistral's usage: OpenAI's three counts, plus `num_cached_tokens` on newer models. */
const mistralUsageSchema = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative().default(0),
  total_tokens: z.number().int().nonnegative().optional(),
  num_cached_tokens: z.number().int().nonnegative().nullish(),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().int().nonnegative().nullish() }).nullish(),
});

/** Mistral's usage object → TokenUsage; null when missing or malformed. */
export function toMistralTokenUsage(usage: unknown): TokenUsage | null {
  if (usage == null) return null;
  const parsed = mistralUsageSchema.safeParse(usage);
  if (!parsed.success) return null;
  const u = parsed.data;
  return {
    inputTokens: u.prompt_tokens,
    outputTokens: u.completion_tokens,
    cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? u.num_cached_tokens ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
}

/** TokenUsage in OpenAI's usage shape (shared rules in ../usage). */
export const toOpenAiUsage = (u: TokenUsage): NonNullable<ChatCompletion["usage"]> => sharedToOpenAiUsage(u);

export function extractMistralChatUsage(body: unknown): TokenUsage | null {
  if (typeof body !== "object" || body === null || !("usage" in body)) return null;
  return toMistralTokenUsage(body.usage);
}
