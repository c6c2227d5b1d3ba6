import { z } from "zod";
import { formatNanoUsd } from "@switchyard/pricing";
import { teamScopedProcedure } from "../../trpc";
import { PERIOD_FROM_DB, readableBudgetsWhere } from "../budgets/shared";

export const alertSchema = z.object({
  id: z.string(),
  budgetId: z.string(),
  scope: z.enum(["org", "team", "key"]),
  /** "Acme Corp", "Search" or "prod-key (sk-sy-AbC1…)": what the budget is on. */
  target: z.string(),
  period: z.enum(["day", "week", "month"]),
  periodStart: z.date(),
  threshold: z.number().int(),
  /** Exact decimal USD strings at the time the alert was sent. */
  spentUsd: z.string(),
  limitUsd: z.string(),
  recipients: z.array(z.string()),
  sentAt: z.date(),
});

/** Budget alert emails sent for budgets the user can read, newest first. */
export const alertsList = teamScopedProcedure
  .input(z.object({ limit: z.number().int().min(1).max(500).default(100) }))
  .output(z.array(alertSchema))
  .query(async ({ ctx, input }) => {
    const events = await ctx.db.alertEvent.findMany({
      where: {
        budget: readableBudgetsWhere(ctx.memberships, ctx.teamIds, input.teamId !== undefined),
      },
      include: {
        budget: {
          select: {
            scope: true,
            period: true,
            org: { select: { name: true } },
            team: { select: { name: true } },
            virtualKey: { select: { name: true, prefix: true } },
          },
        },
      },
      orderBy: [{ sentAt: "desc" }, { id: "asc" }],
      take: input.limit,
    });
    return events.map((e) => {
      const b = e.budget;
      const scope =
        b.scope === "ORG"
          ? ("org" as const)
          : b.scope === "TEAM"
            ? ("team" as const)
            : ("key" as const);
      const target =
        scope === "org"
          ? b.org.name
          : scope === "team"
            ? (b.team?.name ?? "?")
            : `${b.virtualKey?.name ?? "?"} (${b.virtualKey?.prefix ?? "?"}…)`;
      return {
        id: e.id,
        budgetId: e.budgetId,
        scope,
        target,
        period: PERIOD_FROM_DB[b.period],
        periodStart: e.periodStart,
        threshold: e.threshold,
        spentUsd: formatNanoUsd(e.spentNanoUsd),
        limitUsd: formatNanoUsd(e.limitNanoUsd),
        recipients: e.recipients,
        sentAt: e.sentAt,
      };
    });
  });
