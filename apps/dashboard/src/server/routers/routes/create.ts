import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { Prisma } from "@switchyard/db";
import { orgProcedure } from "../../trpc";
import { assertRouteFits, routeData, routeSettingsSchema } from "./shared";

/**
 * Adds a route of the organisation (org owners and admins): an alias only its keys can
 * send as `model`, resolved to its targets by the strategy. Proxies reload at once.
 */
export const routesCreate = orgProcedure("admin")
  .input(z.object({ route: routeSettingsSchema }))
  .output(z.object({ id: z.string(), alias: z.string() }))
  .mutation(async ({ ctx, input }) => {
    await assertRouteFits(ctx.db, ctx.org.id, input.route);
    try {
      const created = await ctx.db.route.create({
        data: { ...routeData(input.route), orgId: ctx.org.id, source: "DASHBOARD" },
        select: { id: true, alias: true },
      });
      await ctx.services.publishConfigChanged("routes");
      return created;
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002")
        throw new TRPCError({ code: "CONFLICT", message: `A route named '${input.route.alias}' already exists.` });
      throw err;
    }
  });
