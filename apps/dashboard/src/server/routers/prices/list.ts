import { z } from "zod";
import { listPriceRegistry, resolvePricing } from "@switchyard/pricing";
import { isOrgAdmin } from "../../authz";
import { orgProcedure } from "../../trpc";
import { ratesOf, ratesSchema, storedPricing } from "./shared";

const DAY_MS = 24 * 3600 * 1000;
/** How far back the unpriced-request counts look. */
export const UNPRICED_WINDOW_DAYS = 30;

export const pricesListOutput = z.object({
  /** Org owners and admins edit overrides; everyone else reads. */
  canEdit: z.boolean(),
  registry: z.array(
    ratesSchema.extend({
      provider: z.string(),
      model: z.string(),
      effectiveFrom: z.string(),
      source: z.string(),
      /** The entry in force now (false: a past price kept for history). */
      current: z.boolean(),
    }),
  ),
  overrides: z.array(
    ratesSchema.extend({
      id: z.string(),
      upstreamModel: z.string(),
      note: z.string().nullable(),
      updatedAt: z.date(),
    }),
  ),
  /** The organisation's custom models (callable only by its keys); rates null = unpriced. */
  customModels: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      upstreamModel: z.string(),
      provider: z.string(),
      rates: ratesSchema.nullable(),
    }),
  ),
  /** Providers a custom model can use: instance-wide ones and the organisation's. */
  providers: z.array(z.object({ id: z.string(), slug: z.string() })),
  /**
   * Models this organisation uses that have no price: configured models that resolve to
   * none, and any model with requests recorded unpriced in the last 30 days.
   */
  unpriced: z.array(
    z.object({
      model: z.string(),
      upstreamModel: z.string().nullable(),
      provider: z.string().nullable(),
      unpricedRequests30d: z.number().int(),
    }),
  ),
});

/** The price registry, the organisation's overrides and its unpriced models (any member). */
export const pricesList = orgProcedure("read")
  .output(pricesListOutput)
  .query(async ({ ctx }) => {
    const now = new Date();
    const [overrides, models, rollups, providers] = await Promise.all([
      ctx.db.priceOverride.findMany({
        where: { orgId: ctx.org.id },
        orderBy: { upstreamModel: "asc" },
      }),
      ctx.db.model.findMany({
        where: { OR: [{ orgId: null }, { orgId: ctx.org.id }] },
        select: {
          id: true,
          orgId: true,
          name: true,
          upstreamModel: true,
          pricing: true,
          provider: { select: { slug: true } },
        },
        orderBy: { name: "asc" },
      }),
      ctx.db.usageRollup.groupBy({
        by: ["model", "provider"],
        where: {
          orgId: ctx.org.id,
          bucket: { gte: new Date(now.getTime() - UNPRICED_WINDOW_DAYS * DAY_MS) },
          unpricedRequests: { gt: 0 },
        },
        _sum: { unpricedRequests: true },
      }),
      ctx.db.providerCredential.findMany({
        where: { OR: [{ orgId: null }, { orgId: ctx.org.id }] },
        select: { id: true, slug: true },
        orderBy: { slug: "asc" },
      }),
    ]);

    const overrideByModel = new Map(
      overrides.map((o) => [o.upstreamModel, storedPricing(o.pricing)]),
    );
    const unpriced = new Map<string, z.infer<typeof pricesListOutput>["unpriced"][number]>();
    // Models priced now (by an override added since, say) leave the list even with past unpriced requests.
    const pricedNow = new Set<string>();
    for (const m of models) {
      const price = resolvePricing(
        m.upstreamModel,
        storedPricing(m.pricing),
        overrideByModel.get(m.upstreamModel),
        now,
      );
      if (price === null)
        unpriced.set(m.name, {
          model: m.name,
          upstreamModel: m.upstreamModel,
          provider: m.provider.slug,
          unpricedRequests30d: 0,
        });
      else pricedNow.add(m.name);
    }
    for (const r of rollups) {
      const count = r._sum.unpricedRequests ?? 0;
      const known = unpriced.get(r.model);
      if (known) known.unpricedRequests30d += count;
      else if (
        !pricedNow.has(r.model) &&
        resolvePricing(r.model, null, overrideByModel.get(r.model), now) === null
      )
        unpriced.set(r.model, {
          model: r.model,
          upstreamModel: models.find((m) => m.name === r.model)?.upstreamModel ?? null,
          provider: r.provider === "" ? null : r.provider,
          unpricedRequests30d: count,
        });
    }

    return {
      canEdit: isOrgAdmin(ctx.memberships, ctx.org.id),
      customModels: models
        .filter((m) => m.orgId === ctx.org.id)
        .map((m) => {
          const price = resolvePricing(m.upstreamModel, storedPricing(m.pricing), overrideByModel.get(m.upstreamModel), now);
          return { id: m.id, name: m.name, upstreamModel: m.upstreamModel, provider: m.provider.slug, rates: price ? ratesOf(price) : null };
        }),
      providers,
      registry: listPriceRegistry(now).map((row) => ({
        provider: row.provider,
        model: row.model,
        effectiveFrom: row.effectiveFrom,
        source: row.source,
        current: row.current,
        ...ratesOf(row.prices),
      })),
      overrides: overrides.flatMap((o) => {
        const pricing = storedPricing(o.pricing);
        if (!pricing) return [];
        return [
          {
            id: o.id,
            upstreamModel: o.upstreamModel,
            note: o.note,
            updatedAt: o.updatedAt,
            ...ratesOf(pricing),
          },
        ];
      }),
      unpriced: [...unpriced.values()].sort(
        (a, b) => b.unpricedRequests30d - a.unpricedRequests30d || a.model.localeCompare(b.model),
      ),
    };
  });
