import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { attemptRecordSchema } from "@switchyard/contracts";
import { formatNanoUsd } from "@switchyard/pricing";
import { stringTags } from "../keys/shared";
import { bodyLoggingModes, bodyLoggingOf } from "../teams/body-logging";
import { teamScopedProcedure } from "../../trpc";
import { requestRow, requestRowSchema } from "./requests";

export const usageRequestDetailOutput = z.object({
  /** The explorer's row, plus what only the detail shows. */
  request: requestRowSchema.extend({
    ingestedAt: z.date(),
    cacheWriteTokens: z.number().int(),
    usageSource: z.string(),
    tags: z.record(z.string(), z.string()),
  }),
  /** Each upstream attempt (retries, failovers); empty when there was one clean attempt. */
  attemptLog: z.array(attemptRecordSchema),
  /**
   * The savings ledger for this request: what it would have cost on the model the client
   * asked for, against what it cost on the one that served it. Exact decimal USD; null
   * when either side is unpriced (then there is no honest difference to show).
   */
  savings: z.object({
    requestedCostUsd: z.string().nullable(),
    servedCostUsd: z.string().nullable(),
    savedUsd: z.string().nullable(),
  }),
  bodies: z
    .object({
      request: z.string(),
      response: z.string(),
      redacted: z.boolean(),
      truncated: z.boolean(),
    })
    .nullable(),
  /** The team's body-logging setting now (bodies, when present, were kept under an earlier one). */
  bodyLogging: z.enum(bodyLoggingModes),
});

/** One request of a visible team, with its bodies when they were stored. NOT_FOUND otherwise. */
export const usageRequestDetail = teamScopedProcedure
  .input(z.object({ requestId: z.string().trim().min(1).max(200) }))
  .output(usageRequestDetailOutput)
  .query(async ({ ctx, input }) => {
    const log = await ctx.db.requestLog.findFirst({
      where: { requestId: input.requestId, teamId: { in: ctx.teamIds } },
    });
    if (!log) throw new TRPCError({ code: "NOT_FOUND", message: "No such request." });
    const [key, body, team] = await Promise.all([
      ctx.db.virtualKey.findUnique({
        where: { id: log.virtualKeyId },
        select: { name: true, prefix: true },
      }),
      ctx.db.requestBody.findFirst({ where: { requestId: log.requestId, teamId: log.teamId } }),
      ctx.db.team.findUnique({
        where: { id: log.teamId },
        select: { name: true, bodyLogging: true },
      }),
    ]);
    const saved =
      log.costNanoUsd !== null && log.requestedCostNanoUsd !== null
        ? formatNanoUsd(log.requestedCostNanoUsd - log.costNanoUsd)
        : null;
    return {
      request: {
        ...requestRow(log, team?.name ?? null, key ?? undefined),
        ingestedAt: log.ingestedAt,
        cacheWriteTokens: log.cacheWriteTokens,
        usageSource: log.usageSource,
        tags: stringTags(log.tags),
      },
      // Written by the worker from the proxy's event; anything else stored there is not shown.
      attemptLog: z.array(attemptRecordSchema).safeParse(log.attemptLog ?? []).data ?? [],
      savings: {
        requestedCostUsd:
          log.requestedCostNanoUsd === null ? null : formatNanoUsd(log.requestedCostNanoUsd),
        servedCostUsd: log.costNanoUsd === null ? null : formatNanoUsd(log.costNanoUsd),
        savedUsd: saved,
      },
      bodies: body
        ? {
            request: body.request,
            response: body.response,
            redacted: body.redacted,
            truncated: body.truncated,
          }
        : null,
      bodyLogging: bodyLoggingOf(team?.bodyLogging ?? "off"),
    };
  });
