import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { BudgetScope, Prisma } from "@switchyard/db";
import { orgProcedure, teamProcedure } from "../../trpc";
import { budgetSettingsSchema, PERIOD_TO_DB } from "./shared";

const createdSchema = z.object({ id: z.string() });

type Settings = z.output<typeof budgetSettingsSchema>;
type Db = Prisma.TransactionClient;

/** One budget per scope and period: two monthly budgets on one team would only confuse. */
async function createUnique(
  db: Db,
  target: { orgId: string; scope: BudgetScope; teamId: string | null; virtualKeyId: string | null },
  settings: Settings,
) {
  const period = PERIOD_TO_DB[settings.period];
  const existing = await db.budget.findFirst({
    where: { ...target, period },
    select: { id: true },
  });
  if (existing)
    throw new TRPCError({
      code: "CONFLICT",
      message: `There is already a ${settings.period}ly budget for this ${target.scope.toLowerCase()}; edit it instead.`,
    });
  return db.budget.create({
    data: {
      ...target,
      period,
      amountNanoUsd: settings.amountUsd,
      hard: settings.hard,
      thresholds: settings.thresholds,
      recipients: settings.recipients,
      notifyTeamAdmins: settings.notifyTeamAdmins,
    },
    select: { id: true },
  });
}

/** An organisation-wide budget: owners and admins of the organisation. */
export const budgetsCreateForOrg = orgProcedure("admin")
  .input(budgetSettingsSchema)
  .output(createdSchema)
  .mutation(async ({ ctx, input }) => {
    const created = await ctx.db.$transaction((tx) =>
      createUnique(
        tx,
        { orgId: ctx.org.id, scope: "ORG", teamId: null, virtualKeyId: null },
        input,
      ),
    );
    await ctx.services.publishConfigChanged("budgets");
    return created;
  });

/** A budget for a team, or for one of its keys (`keyId`): whoever manages the team. */
export const budgetsCreateForTeam = teamProcedure("manage")
  .input(budgetSettingsSchema.extend({ keyId: z.string().min(1).optional() }))
  .output(createdSchema)
  .mutation(async ({ ctx, input }) => {
    let virtualKeyId: string | null = null;
    if (input.keyId !== undefined) {
      const key = await ctx.db.virtualKey.findUnique({
        where: { id: input.keyId },
        select: { id: true, teamId: true, revokedAt: true },
      });
      // A key of another team is reported as missing, like any object the caller cannot see.
      if (!key || key.teamId !== ctx.team.id)
        throw new TRPCError({ code: "NOT_FOUND", message: "No such key in this team." });
      if (key.revokedAt !== null)
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: "This key is revoked or rotated; budget its replacement.",
        });
      virtualKeyId = key.id;
    }
    const created = await ctx.db.$transaction((tx) =>
      createUnique(
        tx,
        {
          orgId: ctx.team.orgId,
          scope: virtualKeyId ? "KEY" : "TEAM",
          teamId: virtualKeyId ? null : ctx.team.id,
          virtualKeyId,
        },
        input,
      ),
    );
    await ctx.services.publishConfigChanged("budgets");
    return created;
  });
