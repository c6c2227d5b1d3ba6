import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { budgetProcedure } from "../../trpc";
import {
  PERIOD_TO_DB,
  periodSchema,
  recipientsSchema,
  thresholdsSchema,
  usdAmountSchema,
} from "./shared";

/** Changes a budget's amount, period, mode, thresholds or recipients; fields left out keep their value. */
export const budgetsUpdate = budgetProcedure("manage")
  .input(
    z.object({
      amountUsd: usdAmountSchema.optional(),
      period: periodSchema.optional(),
      hard: z.boolean().optional(),
      thresholds: thresholdsSchema.optional(),
      recipients: recipientsSchema.optional(),
      notifyTeamAdmins: z.boolean().optional(),
    }),
  )
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const period = input.period ? PERIOD_TO_DB[input.period] : undefined;
    if (period && period !== ctx.budget.period) {
      const clash = await ctx.db.budget.findFirst({
        where: {
          id: { not: ctx.budget.id },
          orgId: ctx.budget.orgId,
          scope: ctx.budget.scope,
          teamId: ctx.budget.teamId,
          virtualKeyId: ctx.budget.virtualKeyId,
          period,
        },
        select: { id: true },
      });
      if (clash)
        throw new TRPCError({
          code: "CONFLICT",
          message: `There is already a ${input.period}ly budget for this scope.`,
        });
    }
    await ctx.db.budget.update({
      where: { id: ctx.budget.id },
      data: {
        amountNanoUsd: input.amountUsd,
        period,
        hard: input.hard,
        thresholds: input.thresholds,
        recipients: input.recipients,
        notifyTeamAdmins: input.notifyTeamAdmins,
      },
    });
    await ctx.services.publishConfigChanged("budgets");
    return { id: ctx.budget.id };
  });
