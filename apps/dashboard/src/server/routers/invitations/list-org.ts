import { z } from "zod";
import { orgProcedure } from "../../trpc";
import { invitationRow, invitationRowSelect, toInvitationRow } from "./shared";

/** Every open invitation of the organisation, org-wide and to its teams (org owners and admins). */
export const invitationsListOrg = orgProcedure("admin")
  .output(z.array(invitationRow))
  .query(async ({ ctx }) => {
    const rows = await ctx.db.invitation.findMany({
      where: { orgId: ctx.org.id, acceptedAt: null, revokedAt: null },
      select: invitationRowSelect,
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    });
    return rows.map(toInvitationRow);
  });
