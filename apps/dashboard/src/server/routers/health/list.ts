import { z } from "zod";
import { orgProcedure } from "../../trpc";

const stateSchema = z.enum(["closed", "open", "half-open", "recovering"]);

export const healthListOutput = z.object({
  /** When the counters were read. */
  checkedAt: z.date(),
  /** The window the request and error counts cover (the proxies' health window); null when unread. */
  windowMs: z.number().int().nullable(),
  /** Why the counters could not be read (Redis down); the rows are then empty. */
  error: z.string().nullable(),
  targets: z.array(
    z.object({
      model: z.string(),
      provider: z.string(),
      state: stateSchema,
      requests: z.number().int(),
      errors: z.number().int(),
      errorRate: z.number().nullable(),
      avgLatencyMs: z.number().nullable(),
      /** When an open circuit is next probed. */
      openUntil: z.date().nullable(),
      changedAt: z.date().nullable(),
    }),
  ),
});

/**
 * Each target's health as every proxy replica sees it (any member): circuit state,
 * requests and error rate over the window, average latency. A target is a model this
 * organisation's keys can call.
 */
export const healthList = orgProcedure("read")
  .output(healthListOutput)
  .query(async ({ ctx }) => {
    const checkedAt = new Date();
    const models = await ctx.db.model.findMany({
      where: { OR: [{ orgId: null }, { orgId: ctx.org.id }] },
      select: { name: true, provider: { select: { slug: true } } },
      orderBy: { name: "asc" },
    });
    if (!ctx.services.healthReport) return { checkedAt, windowMs: null, error: "Health data is not available here.", targets: [] };
    let report;
    try {
      report = await ctx.services.healthReport(models.map((m) => m.name));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return { checkedAt, windowMs: null, error: `Could not read health from Redis: ${why}`, targets: [] };
    }
    const byTarget = new Map(report.rows.map((r) => [r.target, r]));
    return {
      checkedAt,
      windowMs: report.windowMs,
      error: null,
      targets: models.map((m) => {
        const r = byTarget.get(m.name);
        return {
          model: m.name,
          provider: m.provider.slug,
          state: r?.state ?? "closed",
          requests: r?.requests ?? 0,
          errors: r?.errors ?? 0,
          errorRate: r?.errorRate ?? null,
          avgLatencyMs: r?.avgLatencyMs ?? null,
          openUntil: r?.openUntil == null ? null : new Date(r.openUntil),
          changedAt: r?.changedAt == null ? null : new Date(r.changedAt),
        };
      }),
    };
  });
