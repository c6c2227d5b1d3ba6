import { z } from "zod";
import { isOrgAdmin } from "../../authz";
import { orgProcedure } from "../../trpc";
import { routeRowOf, routeRowSchema, visibleModelNames, visibleRoutesWhere } from "./shared";

export const routesListOutput = z.object({
  /** Org owners and admins create and edit the organisation's own routes; everyone else reads. */
  canEdit: z.boolean(),
  routes: z.array(routeRowSchema),
  /** Models a route of this organisation can target (and use for semantic-cache embeddings). */
  models: z.array(z.string()),
});

/** Instance-wide routes (switchyard.yaml) and the organisation's own, by alias (any member). */
export const routesList = orgProcedure("read")
  .output(routesListOutput)
  .query(async ({ ctx }) => {
    const canEdit = isOrgAdmin(ctx.memberships, ctx.org.id);
    const [routes, models] = await Promise.all([
      ctx.db.route.findMany({ where: visibleRoutesWhere(ctx.org.id), orderBy: { alias: "asc" } }),
      visibleModelNames(ctx.db, ctx.org.id),
    ]);
    return { canEdit, routes: routes.map((r) => routeRowOf(r, canEdit)), models };
  });
