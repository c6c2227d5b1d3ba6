import { z } from "zod";
import { analyticsTimeseries } from "../../analytics";
import { teamScopedProcedure } from "../../trpc";

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

/** Totals and a gap-free time series over [from, to) from the hourly rollups of the visible teams. */
export const usageOverview = teamScopedProcedure
  .input(usageOverviewInput)
  .output(usageOverviewOutput)
  .query(({ ctx, input }) =>
    analyticsTimeseries(ctx.db, ctx.teamIds, input, input.granularity),
  );
