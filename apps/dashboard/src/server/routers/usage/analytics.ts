import { z } from "zod";
import {
  analyticsBreakdown,
  analyticsSavings,
  analyticsSummary,
  analyticsTagDimensions,
  GROUP_BY_PATTERN,
  type GroupBy,
} from "../../analytics";
import { teamScopedProcedure } from "../../trpc";

const usdString = z.string().regex(/^-?\d+\.\d{9}$/);
const rangeInput = z.object({ from: z.date(), to: z.date() });

const statsShape = {
  requests: z.number().int(),
  errors: z.number().int(),
  errorRate: z.number(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  spendUsd: usdString,
  unpricedRequests: z.number().int(),
  p50LatencyMs: z.number().int().nullable(),
  p95LatencyMs: z.number().int().nullable(),
  avgTtftMs: z.number().int().nullable(),
};

export const breakdownRowSchema = z.object({
  ...statsShape,
  key: z.string(),
  label: z.string(),
  cacheHitRate: z.number().nullable(),
  cacheSavedUsd: usdString.nullable(),
  routingSavedUsd: usdString.nullable(),
});

/** Overview cards: this period against the previous one of equal length, top models and teams. */
export const usageSummary = teamScopedProcedure
  .input(rangeInput)
  .output(
    z.object({
      ...statsShape,
      cacheHits: z.number().int(),
      cacheHitRate: z.number(),
      cacheSavedUsd: usdString,
      routingSavedUsd: usdString,
      estimatedRequests: z.number().int(),
      previous: z.object({
        requests: z.number().int(),
        spendUsd: usdString,
        errorRate: z.number(),
        p95LatencyMs: z.number().int().nullable(),
      }),
      topModels: z.array(breakdownRowSchema),
      topTeams: z.array(breakdownRowSchema),
    }),
  )
  .query(({ ctx, input }) => analyticsSummary(ctx.db, ctx.teamIds, input));

/** One row per team, key, model, provider, end user or value of a tag. */
export const usageBreakdown = teamScopedProcedure
  .input(rangeInput.extend({ groupBy: z.string().regex(GROUP_BY_PATTERN) }))
  .output(z.array(breakdownRowSchema))
  .query(({ ctx, input }) =>
    analyticsBreakdown(ctx.db, ctx.teamIds, input, input.groupBy as GroupBy),
  );

/** "tag:<name>" dimensions present in the range (for the group-by selector). */
export const usageTagDimensions = teamScopedProcedure
  .input(rangeInput)
  .output(z.array(z.string()))
  .query(({ ctx, input }) => analyticsTagDimensions(ctx.db, ctx.teamIds, input));

/** Savings ledger: routing and cache savings per team and UTC month. */
export const usageSavings = teamScopedProcedure
  .input(rangeInput)
  .output(
    z.array(
      z.object({
        teamId: z.string(),
        teamName: z.string(),
        month: z.string(),
        spendUsd: usdString,
        requestedCostUsd: usdString,
        routingSavedUsd: usdString,
        cacheSavedUsd: usdString,
        totalSavedUsd: usdString,
      }),
    ),
  )
  .query(({ ctx, input }) => analyticsSavings(ctx.db, ctx.teamIds, input));
