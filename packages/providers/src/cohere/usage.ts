import { toOpenAiUsage as sharedToOpenAiUsage } from "../usage";
import type { ChatCompletion, TokenUsage } from "@switchyard/contracts";
import { z } from "zod";

const counts = z.looseObject({ input_tokens: z.number().nonnegative().nullish(), output_tokens: z.number().nonnegative().nullish() });
const cohereUsageSchema = z.looseObject({
  billed_units: counts.nullish(),
  tokens: counts.nullish(),
  cached_tokens: z.number().nonnegative().nullish(),
});

/**
 * Cohere reports two counts: `tokens` (everything the model processed, including the
 * preamble Cohere adds) and `billed_units` (what Cohere charges for). Cost must match
 * the invoice, so usage is `billed_units`. `cached_tokens` counts against `tokens`, not
 * against billed units (the recording: billed 12, processed 507, cached 448), and Cohere
 * has no cache-read price, so it becomes cachedInputTokens only when usage falls back
 * to `tokens` (a reply without billed_units).
 */
export function toCohereTokenUsage(usage: unknown): TokenUsage | null {
  if (usage == null) return null;
  const parsed = cohereUsageSchema.safeParse(usage);
  if (!parsed.success) return null;
  const u = parsed.data;
  const billed = u.billed_units;
  const basis = billed ?? u.tokens;
  if (!basis) return null;
  const inputTokens = Math.round(basis.input_tokens ?? 0);
  return {
    inputTokens,
    outputTokens: Math.round(basis.output_tokens ?? 0),
    cachedInputTokens: billed ? 0 : Math.min(inputTokens, Math.round(u.cached_tokens ?? 0)),
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
}

export function extractCohereChatUsage(body: unknown): TokenUsage | null {
  if (typeof body !== "object" || body === null || !("usage" in body)) return null;
  return toCohereTokenUsage(body.usage);
}

/** TokenUsage in OpenAI's usage shape (shared rules in ../usage). */
export const toOpenAiUsage = (u: TokenUsage): NonNullable<ChatCompletion["usage"]> => sharedToOpenAiUsage(u);
