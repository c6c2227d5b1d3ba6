import { z } from "zod";
import { modelPricingSchema } from "@switchyard/contracts";
import { orgProcedure } from "../../trpc";
import { upstreamModelSchema } from "./shared";

/**
 * Creates or replaces the organisation's price for one upstream model (org owners and
 * admins). It wins over the model's configured pricing and the registry (resolvePricing);
 * proxies are told to reload so the next request is costed with it.
 */
export const pricesSetOverride = orgProcedure("admin")
  .input(
    z.object({
      upstreamModel: upstreamModelSchema,
      pricing: modelPricingSchema,
      note: z.string().trim().max(500).nullish(),
    }),
  )
  .output(z.object({ id: z.string(), upstreamModel: z.string(), created: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    const where = {
      orgId_upstreamModel: { orgId: ctx.org.id, upstreamModel: input.upstreamModel },
    };
    const existing = await ctx.db.priceOverride.findUnique({ where, select: { id: true } });
    const note = input.note ? input.note : null;
    const saved = await ctx.db.priceOverride.upsert({
      where,
      create: {
        orgId: ctx.org.id,
        upstreamModel: input.upstreamModel,
        pricing: input.pricing,
        note,
      },
      update: { pricing: input.pricing, note },
      select: { id: true, upstreamModel: true },
    });
    await ctx.services.publishConfigChanged("prices");
    return { ...saved, created: existing === null };
  });
