import { z } from "zod";
import { protectedProcedure, adminOrgIdsOf } from "../../trpc";
import { orgIdsOf, providerSelect, providerView, toProviderView, visibleProvidersWhere } from "./shared";

export const providersListOutput = z.object({
  /** Owners and admins manage providers; everyone else reads. */
  canManage: z.boolean(),
  providers: z.array(providerView),
});

/** Providers of the user's organisations and the instance-wide ones, with their keys (never the secrets). */
export const providersList = protectedProcedure.output(providersListOutput).query(async ({ ctx }) => {
  const orgIds = orgIdsOf(ctx.memberships);
  const adminOrgIds = adminOrgIdsOf(ctx.memberships);
  if (orgIds.length === 0) return { canManage: false, providers: [] };
  const rows = await ctx.db.providerCredential.findMany({
    where: visibleProvidersWhere(orgIds),
    select: providerSelect,
    orderBy: [{ slug: "asc" }],
  });
  return { canManage: adminOrgIds.length > 0, providers: rows.map((p) => toProviderView(p, adminOrgIds)) };
});
