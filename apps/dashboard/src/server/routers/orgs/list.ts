import { z } from "zod";
import { isOrgAdmin, isOrgOwner } from "../../authz";
import { protectedProcedure } from "../../trpc";
import { orgSettings } from "./shared";

/** The organisations the user belongs to, with what they may do in each. */
export const orgsList = protectedProcedure.output(z.array(orgSettings)).query(async ({ ctx }) => {
  const orgIds = [...new Set(ctx.memberships.map((m) => m.orgId))];
  const orgs = await ctx.db.organization.findMany({
    where: { id: { in: orgIds } },
    select: { id: true, slug: true, name: true, timeZone: true, requestLogRetentionDays: true },
    orderBy: { name: "asc" },
  });
  return orgs.map((org) => ({
    ...org,
    isAdmin: isOrgAdmin(ctx.memberships, org.id),
    isOwner: isOrgOwner(ctx.memberships, org.id),
  }));
});
