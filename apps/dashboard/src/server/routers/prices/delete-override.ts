import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { orgProcedure } from "../../trpc";

/** Removes one of the organisation's price overrides (org owners and admins); the registry price applies again. */
export const pricesDeleteOverride = orgProcedure("admin")
  .input(z.object({ overrideId: z.string().min(1) }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    // Scoped by orgId: another organisation's override is NOT_FOUND, not deleted.
    const { count } = await ctx.db.priceOverride.deleteMany({
      where: { id: input.overrideId, orgId: ctx.org.id },
    });
    if (count === 0) throw new TRPCError({ code: "NOT_FOUND", message: "No such price override." });
    await ctx.services.publishConfigChanged("prices");
    return { id: input.overrideId };
  });
