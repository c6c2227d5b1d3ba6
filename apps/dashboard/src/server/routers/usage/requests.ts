import { z } from "zod";
import { formatNanoUsd } from "@switchyard/pricing";
import { teamScopedProcedure } from "../../trpc";

export const usageRequestsInput = z.object({
  limit: z.number().int().min(1).max(200).default(50),
  /** `nextCursor` of the previous page. */
  cursor: z.string().regex(/^\d+$/).nullish(),
});

const requestRowSchema = z.object({
  id: z.string(),
  requestId: z.string(),
  createdAt: z.date(),
  teamName: z.string().nullable(),
  keyName: z.string().nullable(),
  keyPrefix: z.string().nullable(),
  endpoint: z.string(),
  requestedModel: z.string(),
  servedModel: z.string().nullable(),
  provider: z.string().nullable(),
  status: z.number().int(),
  errorClass: z.string().nullable(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cachedInputTokens: z.number().int(),
  reasoningTokens: z.number().int(),
  /** true when the provider gave no usage and tokens were estimated. */
  estimated: z.boolean(),
  /** Exact decimal USD; null = unpriced (never shown as $0). */
  costUsd: z.string().nullable(),
  cacheStatus: z.string(),
  latencyMs: z.number().int(),
  ttftMs: z.number().int().nullable(),
  stream: z.boolean(),
});

export const usageRequestsOutput = z.object({
  items: z.array(requestRowSchema),
  nextCursor: z.string().nullable(),
});

/** The request log of the visible teams, newest first, cursor-paginated. */
export const usageRequests = teamScopedProcedure
  .input(usageRequestsInput)
  .output(usageRequestsOutput)
  .query(async ({ ctx, input }) => {
    const rows = await ctx.db.requestLog.findMany({
      where: { teamId: { in: ctx.teamIds } },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: input.limit + 1,
      ...(input.cursor ? { cursor: { id: BigInt(input.cursor) }, skip: 1 } : {}),
    });
    const page = rows.slice(0, input.limit);
    const keyIds = [...new Set(page.map((r) => r.virtualKeyId))];
    const keys = await ctx.db.virtualKey.findMany({
      where: { id: { in: keyIds } },
      select: { id: true, name: true, prefix: true },
    });
    const keyById = new Map(keys.map((k) => [k.id, k]));
    const teamById = new Map(ctx.teams.map((team) => [team.id, team]));

    return {
      items: page.map((r) => ({
        id: r.id.toString(),
        requestId: r.requestId,
        createdAt: r.createdAt,
        teamName: teamById.get(r.teamId)?.name ?? null,
        keyName: keyById.get(r.virtualKeyId)?.name ?? null,
        keyPrefix: keyById.get(r.virtualKeyId)?.prefix ?? null,
        endpoint: r.endpoint,
        requestedModel: r.requestedModel,
        servedModel: r.servedModel,
        provider: r.provider,
        status: r.status,
        errorClass: r.errorClass,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        cachedInputTokens: r.cachedInputTokens,
        reasoningTokens: r.reasoningTokens,
        estimated: r.usageSource === "estimated",
        costUsd: r.costNanoUsd === null ? null : formatNanoUsd(r.costNanoUsd),
        cacheStatus: r.cacheStatus,
        latencyMs: r.latencyMs,
        ttftMs: r.ttftMs,
        stream: r.stream,
      })),
      nextCursor: rows.length > input.limit ? (page.at(-1)?.id.toString() ?? null) : null,
    };
  });
