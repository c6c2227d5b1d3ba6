import { toOpenAiUsage as sharedToOpenAiUsage } from "../usage";
import type { ChatCompletion, TokenUsage } from "@switchyard/contracts";

const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * Gemini's `usageMetadata` → TokenUsage; null when absent.
 * - input = promptTokenCount + toolUsePromptTokenCount (tool-use prompts are billed as input);
 *   cachedContentTokenCount is the cached part of it.
 * - output = candidatesTokenCount + thoughtsTokenCount: `candidatesTokenCount` excludes the
 *   thinking tokens, which Google bills at the output rate (totalTokenCount = prompt +
 *   candidates + thoughts in the recordings), so they are output and also `reasoningTokens`.
 */
export function geminiTokenUsage(meta: unknown): TokenUsage | null {
  if (typeof meta !== "object" || meta === null) return null;
  const m = meta as Record<string, unknown>;
  if (m.promptTokenCount === undefined && m.candidatesTokenCount === undefined && m.totalTokenCount === undefined) return null;
  const thoughts = count(m.thoughtsTokenCount);
  return {
    inputTokens: count(m.promptTokenCount) + count(m.toolUsePromptTokenCount),
    outputTokens: count(m.candidatesTokenCount) + thoughts,
    cachedInputTokens: count(m.cachedContentTokenCount),
    cacheWriteTokens: 0,
    reasoningTokens: thoughts,
  };
}

/** Usage of a non-streaming generateContent body. */
export function extractGeminiChatUsage(body: unknown): TokenUsage | null {
  if (typeof body !== "object" || body === null || !("usageMetadata" in body)) return null;
  return geminiTokenUsage(body.usageMetadata);
}

/** TokenUsage in OpenAI's usage shape (shared rules in ../usage). */
export const toOpenAiUsage = (u: TokenUsage): NonNullable<ChatCompletion["usage"]> => sharedToOpenAiUsage(u, { reasoning: true });
