import { z } from "zod";
import { orgProcedure } from "../../trpc";
import { loadOwnRoute } from "./shared";

/** Removes one of the organisation's dashboard routes (org owners and admins); keys sending its alias get a 404. */
export const routesDelete = orgProcedure("admin")
  .input(z.object({ routeId: z.string().min(1) }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const route = await loadOwnRoute(ctx.db, ctx.org.id, input.routeId);
    await ctx.db.route.delete({ where: { id: route.id } });
    await ctx.services.publishConfigChanged("routes");
    return { id: route.id };
  });
