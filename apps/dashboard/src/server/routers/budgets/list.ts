import { z } from "zod";
import { formatNanoUsd } from "@switchyard/pricing";
import { isOrgAdmin, teamAccessOf } from "../../authz";
import { teamScopedProcedure } from "../../trpc";
import { currentSpend, PERIOD_FROM_DB, readableBudgetsWhere } from "./shared";

export const budgetSchema = z.object({
  id: z.string(),
  scope: z.enum(["org", "team", "key"]),
  orgId: z.string(),
  orgName: z.string(),
  /** The org's IANA time zone: periods are calendar days/weeks/months in it. */
  timeZone: z.string(),
  teamId: z.string().nullable(),
  teamName: z.string().nullable(),
  keyId: z.string().nullable(),
  keyName: z.string().nullable(),
  keyPrefix: z.string().nullable(),
  /** Exact decimal USD strings (9 places). */
  amountUsd: z.string(),
  spentUsd: z.string(),
  /** spent / amount, for bars (display only; the exact amounts are above). */
  spentRatio: z.number(),
  period: z.enum(["day", "week", "month"]),
  hard: z.boolean(),
  thresholds: z.array(z.number().int()),
  recipients: z.array(z.string()),
  notifyTeamAdmins: z.boolean(),
  periodStart: z.date(),
  /** When the current period ends and the budget starts again from 0. */
  resetsAt: z.date(),
  /** Whether this user may edit or delete it (a display hint; the server checks again). */
  canManage: z.boolean(),
});

/**
 * Budgets the user can read: their organisations' org budgets, and the team and key
 * budgets of the teams they can see (narrowed to `teamId` when given: then no org
 * budgets), with the spend of the current period.
 */
export const budgetsList = teamScopedProcedure
  .output(z.array(budgetSchema))
  .query(async ({ ctx, input }) => {
    const budgets = await ctx.db.budget.findMany({
      where: readableBudgetsWhere(ctx.memberships, ctx.teamIds, input.teamId !== undefined),
      include: {
        org: { select: { name: true, timeZone: true } },
        team: { select: { id: true, name: true, orgId: true } },
        virtualKey: {
          select: {
            id: true,
            name: true,
            prefix: true,
            teamId: true,
            team: { select: { id: true, name: true, orgId: true } },
          },
        },
      },
      orderBy: [{ orgId: "asc" }, { scope: "asc" }, { createdAt: "asc" }, { id: "asc" }],
    });
    const now = new Date();
    return Promise.all(
      budgets.map(async (b) => {
        const team = b.team ?? b.virtualKey?.team ?? null;
        const spend = await currentSpend(ctx.db, b, b.org.timeZone, now);
        const canManage =
          b.scope === "ORG" || team === null
            ? isOrgAdmin(ctx.memberships, b.orgId)
            : teamAccessOf(ctx.memberships, team) === "manage";
        return {
          id: b.id,
          scope:
            b.scope === "ORG"
              ? ("org" as const)
              : b.scope === "TEAM"
                ? ("team" as const)
                : ("key" as const),
          orgId: b.orgId,
          orgName: b.org.name,
          timeZone: b.org.timeZone,
          teamId: team?.id ?? null,
          teamName: team?.name ?? null,
          keyId: b.virtualKey?.id ?? null,
          keyName: b.virtualKey?.name ?? null,
          keyPrefix: b.virtualKey?.prefix ?? null,
          amountUsd: formatNanoUsd(b.amountNanoUsd),
          spentUsd: formatNanoUsd(spend.spentNanoUsd),
          // Scaled integer division first, so huge amounts do not lose the ratio to float rounding.
          spentRatio: Number((spend.spentNanoUsd * 1_000_000n) / b.amountNanoUsd) / 1_000_000,
          period: PERIOD_FROM_DB[b.period],
          hard: b.hard,
          thresholds: b.thresholds,
          recipients: b.recipients,
          notifyTeamAdmins: b.notifyTeamAdmins,
          periodStart: spend.periodStart,
          resetsAt: spend.resetsAt,
          canManage,
        };
      }),
    );
  });
