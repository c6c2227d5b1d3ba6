import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { Prisma } from "@switchyard/db";
import { orgProcedure } from "../../trpc";
import { assertRouteFits, loadOwnRoute, routeData, routeSettingsSchema } from "./shared";

/**
 * Replaces the settings of one of the organisation's dashboard routes (org owners and
 * admins); routes from switchyard.yaml are changed there. Proxies reload at once.
 */
export const routesUpdate = orgProcedure("admin")
  .input(z.object({ routeId: z.string().min(1), route: routeSettingsSchema }))
  .output(z.object({ id: z.string(), alias: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const existing = await loadOwnRoute(ctx.db, ctx.org.id, input.routeId);
    await assertRouteFits(ctx.db, ctx.org.id, input.route, existing.id);
    try {
      const updated = await ctx.db.route.update({
        where: { id: existing.id },
        data: routeData(input.route),
        select: { id: true, alias: true },
      });
      await ctx.services.publishConfigChanged("routes");
      return updated;
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002")
        throw new TRPCError({ code: "CONFLICT", message: `A route named '${input.route.alias}' already exists.` });
      throw err;
    }
  });
