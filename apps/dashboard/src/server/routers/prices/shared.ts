import { z } from "zod";
import { modelPricingSchema, type ModelPricing } from "@switchyard/contracts";
import type { Prisma } from "@switchyard/db";

/** The per-MTok rates a price row shows (decimal USD strings, exact). */
export const ratesSchema = z.object({
  inputPerMTok: z.string(),
  outputPerMTok: z.string(),
  cachedInputPerMTok: z.string().nullable(),
  cacheWritePerMTok: z.string().nullable(),
  reasoningPerMTok: z.string().nullable(),
});

export function ratesOf(p: ModelPricing): z.infer<typeof ratesSchema> {
  return {
    inputPerMTok: p.inputPerMTok,
    outputPerMTok: p.outputPerMTok,
    cachedInputPerMTok: p.cachedInputPerMTok ?? null,
    cacheWritePerMTok: p.cacheWritePerMTok ?? null,
    reasoningPerMTok: p.reasoningPerMTok ?? null,
  };
}

/** Stored pricing JSON, or null when it is missing or not a valid ModelPricing. */
export function storedPricing(json: Prisma.JsonValue | null): ModelPricing | null {
  if (json === null) return null;
  const parsed = modelPricingSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** An upstream model name as providers spell them ("gpt-4o-2024-08-06", "models/gemini-…"). */
export const upstreamModelSchema = z
  .string()
  .trim()
  .min(1, "Name the upstream model.")
  .max(200)
  .regex(/^[^\s]+$/, "An upstream model name has no spaces.");
