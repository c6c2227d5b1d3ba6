import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { formatNanoUsd } from "@switchyard/pricing";
import { bucketStart, bucketStep } from "../../../lib/ranges";
import { teamScopedProcedure } from "../../trpc";

const MAX_BUCKETS = 24 * 93;

export const usageOverviewInput = z.object({
  from: z.date(),
  to: z.date(),
  granularity: z.enum(["hour", "day"]),
});

const usdString = z.string().regex(/^-?\d+\.\d{9}$/);

const pointSchema = z.object({
  bucket: z.date(),
  requests: z.number().int(),
  errors: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  /** Exact decimal USD (9 places) of priced requests. */
  spendUsd: usdString,
});

export const usageOverviewOutput = z.object({
  totals: z.object({
    requests: z.number().int(),
    errors: z.number().int(),
    /** errors / requests, 0 when there were none. */
    errorRate: z.number(),
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    spendUsd: usdString,
    /** Requests whose model had no price: excluded from spend, shown as "unpriced". */
    unpricedRequests: z.number().int(),
  }),
  series: z.array(pointSchema),
});

interface Acc {
  requests: number;
  errors: number;
  unpriced: number;
  inputTokens: bigint;
  outputTokens: bigint;
  costNanoUsd: bigint;
}

const emptyAcc = (): Acc => ({
  requests: 0,
  errors: 0,
  unpriced: 0,
  inputTokens: 0n,
  outputTokens: 0n,
  costNanoUsd: 0n,
});

/** Totals and a gap-free time series over [from, to) from the hourly rollups of the visible teams. */
export const usageOverview = teamScopedProcedure
  .input(usageOverviewInput)
  .output(usageOverviewOutput)
  .query(async ({ ctx, input }) => {
    const step = bucketStep(input.granularity);
    const first = bucketStart(input.from, input.granularity);
    if (input.to <= input.from)
      throw new TRPCError({ code: "BAD_REQUEST", message: "`to` must be after `from`." });
    if ((input.to.getTime() - first.getTime()) / step > MAX_BUCKETS) {
      throw new TRPCError({ code: "BAD_REQUEST", message: "Range too long for this granularity." });
    }

    const rows = await ctx.db.usageRollup.groupBy({
      by: ["bucket"],
      where: { teamId: { in: ctx.teamIds }, bucket: { gte: input.from, lt: input.to } },
      _sum: {
        requests: true,
        errors: true,
        unpricedRequests: true,
        inputTokens: true,
        outputTokens: true,
        costNanoUsd: true,
      },
    });

    const buckets = new Map<number, Acc>();
    for (let t = first.getTime(); t < input.to.getTime(); t += step) buckets.set(t, emptyAcc());
    const totals = emptyAcc();
    for (const row of rows) {
      const key = bucketStart(row.bucket, input.granularity).getTime();
      const acc = buckets.get(key) ?? emptyAcc();
      buckets.set(key, acc);
      for (const target of [acc, totals]) {
        target.requests += row._sum.requests ?? 0;
        target.errors += row._sum.errors ?? 0;
        target.unpriced += row._sum.unpricedRequests ?? 0;
        target.inputTokens += row._sum.inputTokens ?? 0n;
        target.outputTokens += row._sum.outputTokens ?? 0n;
        target.costNanoUsd += row._sum.costNanoUsd ?? 0n;
      }
    }

    return {
      totals: {
        requests: totals.requests,
        errors: totals.errors,
        errorRate: totals.requests === 0 ? 0 : totals.errors / totals.requests,
        inputTokens: Number(totals.inputTokens),
        outputTokens: Number(totals.outputTokens),
        spendUsd: formatNanoUsd(totals.costNanoUsd),
        unpricedRequests: totals.unpriced,
      },
      series: [...buckets.entries()]
        .sort(([a], [b]) => a - b)
        .map(([t, acc]) => ({
          bucket: new Date(t),
          requests: acc.requests,
          errors: acc.errors,
          inputTokens: Number(acc.inputTokens),
          outputTokens: Number(acc.outputTokens),
          spendUsd: formatNanoUsd(acc.costNanoUsd),
        })),
    };
  });
