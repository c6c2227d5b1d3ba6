import { z } from "zod";
import { teamProcedure } from "../../trpc";
import { invitationRow, invitationRowSelect, toInvitationRow } from "./shared";

/** Open (pending or expired, not accepted nor revoked) invitations to one team, for its managers. */
export const invitationsListTeam = teamProcedure("manage")
  .output(z.array(invitationRow))
  .query(async ({ ctx }) => {
    const rows = await ctx.db.invitation.findMany({
      where: { teamId: ctx.team.id, acceptedAt: null, revokedAt: null },
      select: invitationRowSelect,
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    });
    return rows.map(toInvitationRow);
  });
