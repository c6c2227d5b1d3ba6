import { z } from "zod";
import { budgetProcedure } from "../../trpc";

/** Deletes a budget (and, by cascade, its alert history). */
export const budgetsDelete = budgetProcedure("manage")
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx }) => {
    await ctx.db.budget.delete({ where: { id: ctx.budget.id } });
    await ctx.services.publishConfigChanged("budgets");
    return { id: ctx.budget.id };
  });
