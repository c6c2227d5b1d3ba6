import { z } from "zod";
import { orgProcedure } from "../../trpc";
import { memberRow, memberSelect, toMemberRow } from "./shared";

/** Every membership in the organisation, org-wide and per team (org owners and admins). */
export const membersListOrg = orgProcedure("admin")
  .output(z.array(memberRow))
  .query(async ({ ctx }) => {
    const rows = await ctx.db.membership.findMany({
      where: { orgId: ctx.org.id },
      select: memberSelect,
      orderBy: [{ user: { email: "asc" } }, { createdAt: "asc" }],
    });
    return rows.map(toMemberRow);
  });
