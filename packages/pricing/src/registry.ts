import type { ModelPricing } from "@switchyard/contracts";

/**
 * The price registry: list prices as data, USD per million tokens as exact decimal
 * strings. One entry per model and price period; a model whose price changed has one
 * entry per period and `priceAt` picks the one in force. Names are the provider's
 * upstream model names (Azure OpenAI deployments of these models use the same names).
 *
 * Rules for this file:
 * - Only prices read on the provider's own pricing page (`source`). A model whose price
 *   could not be confirmed there is left out: it resolves to null (unpriced), never $0.
 * - `cachedInputPerMTok` is the cache-read (hit) rate; `cacheWritePerMTok` the cache-write
 *   rate where the provider bills writes separately (Anthropic: the 5-minute write).
 * - `reasoningPerMTok` only where reasoning is billed at its own rate; every provider here
 *   bills reasoning/thinking tokens as output, so none sets it.
 * - `effectiveFrom` is an ISO date (or date-time when the provider gives the hour).
 */
export type PriceProvider = "openai" | "anthropic" | "gemini" | "deepseek" | "mistral" | "cohere" | "groq";

export interface PriceEntry extends ModelPricing {
  provider: PriceProvider;
  model: string;
  effectiveFrom: string;
  source: string;
}

const OPENAI = "https://developers.openai.com/api/docs/pricing";
const ANTHROPIC = "https://platform.claude.com/docs/en/about-claude/pricing";
const GEMINI = "https://ai.google.dev/gemini-api/docs/pricing";
const DEEPSEEK = "https://api-docs.deepseek.com/quick_start/pricing";

type Prices = Omit<PriceEntry, "provider" | "model" | "effectiveFrom" | "source">;

const openai = (model: string, effectiveFrom: string, p: Prices): PriceEntry => ({
  provider: "openai",
  model,
  effectiveFrom,
  source: OPENAI,
  batchDiscountPercent: "50",
  ...p,
});

// Anthropic: 5m cache writes are 1.25× and cache hits 0.1× the base input price; the
// Message Batches API is half price.
const anthropic = (model: string, effectiveFrom: string, p: Prices): PriceEntry => ({
  provider: "anthropic",
  model,
  effectiveFrom,
  source: ANTHROPIC,
  batchDiscountPercent: "50",
  ...p,
});

const gemini = (model: string, effectiveFrom: string, p: Prices): PriceEntry => ({ provider: "gemini", model, effectiveFrom, source: GEMINI, ...p });

const deepseek = (model: string, effectiveFrom: string, p: Prices): PriceEntry => ({ provider: "deepseek", model, effectiveFrom, source: DEEPSEEK, ...p });

export const PRICE_TABLE: readonly PriceEntry[] = [
  // OpenAI (cached input = prompt-cache hits; reasoning tokens are output tokens).
  openai("gpt-4o", "2024-10-01", { inputPerMTok: "2.50", cachedInputPerMTok: "1.25", outputPerMTok: "10.00" }),
  openai("gpt-4o-mini", "2024-07-18", { inputPerMTok: "0.15", cachedInputPerMTok: "0.075", outputPerMTok: "0.60" }),
  openai("gpt-4.1", "2025-04-14", { inputPerMTok: "2.00", cachedInputPerMTok: "0.50", outputPerMTok: "8.00" }),
  openai("gpt-4.1-mini", "2025-04-14", { inputPerMTok: "0.40", cachedInputPerMTok: "0.10", outputPerMTok: "1.60" }),
  openai("gpt-4.1-nano", "2025-04-14", { inputPerMTok: "0.10", cachedInputPerMTok: "0.025", outputPerMTok: "0.40" }),
  openai("gpt-5-mini", "2025-08-07", { inputPerMTok: "0.25", cachedInputPerMTok: "0.025", outputPerMTok: "2.00" }),
  openai("gpt-5-nano", "2025-08-07", { inputPerMTok: "0.05", cachedInputPerMTok: "0.005", outputPerMTok: "0.40" }),
  openai("text-embedding-3-small", "2024-01-25", { inputPerMTok: "0.02", outputPerMTok: "0" }),
  openai("text-embedding-3-large", "2024-01-25", { inputPerMTok: "0.13", outputPerMTok: "0" }),

  // Anthropic (base input | 5m cache write | cache hit | output).
  anthropic("claude-opus-4-5", "2025-11-24", { inputPerMTok: "5", cacheWritePerMTok: "6.25", cachedInputPerMTok: "0.50", outputPerMTok: "25" }),
  anthropic("claude-opus-4-1", "2025-08-05", { inputPerMTok: "15", cacheWritePerMTok: "18.75", cachedInputPerMTok: "1.50", outputPerMTok: "75" }),
  anthropic("claude-opus-4", "2025-05-22", { inputPerMTok: "15", cacheWritePerMTok: "18.75", cachedInputPerMTok: "1.50", outputPerMTok: "75" }),
  anthropic("claude-sonnet-4-5", "2025-09-29", { inputPerMTok: "3", cacheWritePerMTok: "3.75", cachedInputPerMTok: "0.30", outputPerMTok: "15" }),
  anthropic("claude-sonnet-4", "2025-05-22", { inputPerMTok: "3", cacheWritePerMTok: "3.75", cachedInputPerMTok: "0.30", outputPerMTok: "15" }),
  anthropic("claude-3-7-sonnet", "2025-02-24", { inputPerMTok: "3", cacheWritePerMTok: "3.75", cachedInputPerMTok: "0.30", outputPerMTok: "15" }),
  anthropic("claude-3-5-sonnet", "2024-06-20", { inputPerMTok: "3", cacheWritePerMTok: "3.75", cachedInputPerMTok: "0.30", outputPerMTok: "15" }),
  anthropic("claude-haiku-4-5", "2025-10-15", { inputPerMTok: "1", cacheWritePerMTok: "1.25", cachedInputPerMTok: "0.10", outputPerMTok: "5" }),
  anthropic("claude-3-5-haiku", "2024-11-04", { inputPerMTok: "0.80", cacheWritePerMTok: "1", cachedInputPerMTok: "0.08", outputPerMTok: "4" }),
  anthropic("claude-3-opus", "2024-03-04", { inputPerMTok: "15", cacheWritePerMTok: "18.75", cachedInputPerMTok: "1.50", outputPerMTok: "75" }),
  anthropic("claude-3-haiku", "2024-03-13", { inputPerMTok: "0.25", cacheWritePerMTok: "0.30", cachedInputPerMTok: "0.03", outputPerMTok: "1.25" }),

  // Google Gemini API (paid tier, text/image/video input; output includes thinking tokens).
  gemini("gemini-3-flash-preview", "2025-12-17", { inputPerMTok: "0.50", cachedInputPerMTok: "0.05", outputPerMTok: "3.00" }),

  // DeepSeek (cache hit | cache miss | output; reasoner output includes the chain of thought).
  // Until 2025-09-05 16:00 UTC an off-peak discount (16:30–00:30 UTC) applied; not modelled.
  deepseek("deepseek-chat", "2025-02-08T16:00:00Z", { cachedInputPerMTok: "0.07", inputPerMTok: "0.27", outputPerMTok: "1.10" }),
  deepseek("deepseek-chat", "2025-09-05T16:00:00Z", { cachedInputPerMTok: "0.07", inputPerMTok: "0.56", outputPerMTok: "1.68" }),
  deepseek("deepseek-chat", "2025-09-29", { cachedInputPerMTok: "0.028", inputPerMTok: "0.28", outputPerMTok: "0.42" }),
  deepseek("deepseek-reasoner", "2025-01-20", { cachedInputPerMTok: "0.14", inputPerMTok: "0.55", outputPerMTok: "2.19" }),
  deepseek("deepseek-reasoner", "2025-09-05T16:00:00Z", { cachedInputPerMTok: "0.07", inputPerMTok: "0.56", outputPerMTok: "1.68" }),
  deepseek("deepseek-reasoner", "2025-09-29", { cachedInputPerMTok: "0.028", inputPerMTok: "0.28", outputPerMTok: "0.42" }),
];
