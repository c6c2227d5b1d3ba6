import type { ModelPricing } from "@switchyard/contracts";

/**
 * Built-in list prices (USD per million tokens), used when a model in the config has
 * no `pricing` of its own. Keyed by the provider's upstream model name. This is the
 * minimal table for the foundation; the full registry is its own piece of work.
 */
export interface PriceEntry extends ModelPricing {
  effectiveFrom: string;
  source: string;
}

const OPENAI_PRICING = "https://openai.com/api/pricing/";

export const builtinPrices: Readonly<Record<string, PriceEntry>> = {
  "gpt-4o": { inputPerMTok: "2.50", outputPerMTok: "10.00", cachedInputPerMTok: "1.25", effectiveFrom: "2024-10-01", source: OPENAI_PRICING },
  "gpt-4o-mini": { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075", effectiveFrom: "2024-10-01", source: OPENAI_PRICING },
  "gpt-4.1": { inputPerMTok: "2.00", outputPerMTok: "8.00", cachedInputPerMTok: "0.50", effectiveFrom: "2025-04-14", source: OPENAI_PRICING },
  "gpt-4.1-mini": { inputPerMTok: "0.40", outputPerMTok: "1.60", cachedInputPerMTok: "0.10", effectiveFrom: "2025-04-14", source: OPENAI_PRICING },
  "gpt-4.1-nano": { inputPerMTok: "0.10", outputPerMTok: "0.40", cachedInputPerMTok: "0.025", effectiveFrom: "2025-04-14", source: OPENAI_PRICING },
  "text-embedding-3-small": { inputPerMTok: "0.02", outputPerMTok: "0", effectiveFrom: "2024-01-25", source: OPENAI_PRICING },
  "text-embedding-3-large": { inputPerMTok: "0.13", outputPerMTok: "0", effectiveFrom: "2024-01-25", source: OPENAI_PRICING },
};

/**
 * The price of a model: its own configured pricing, else the built-in price of its
 * upstream name (dated snapshot names such as "gpt-4o-2024-08-06" fall back to the
 * family), else null: the request is recorded as unpriced, never as $0.
 */
export function resolvePricing(upstreamModel: string, configured?: ModelPricing | null): ModelPricing | null {
  if (configured) return configured;
  const exact = builtinPrices[upstreamModel];
  if (exact) return exact;
  const undated = upstreamModel.replace(/-\d{4}-\d{2}-\d{2}$/, "");
  return builtinPrices[undated] ?? null;
}
