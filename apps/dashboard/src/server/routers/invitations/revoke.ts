import { TRPCError } from "@trpc/server";
import { invitationProcedure } from "../../trpc";
import { invitationRow, invitationRowSelect, toInvitationRow } from "./shared";

/** Withdraws an invitation: its link stops working at once. */
export const invitationsRevoke = invitationProcedure
  .output(invitationRow)
  .mutation(async ({ ctx }) => {
    const { count } = await ctx.db.invitation.updateMany({
      where: { id: ctx.invitation.id, acceptedAt: null, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    if (count === 0)
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: "This invitation was already accepted or withdrawn.",
      });
    return toInvitationRow(
      await ctx.db.invitation.findUniqueOrThrow({
        where: { id: ctx.invitation.id },
        select: invitationRowSelect,
      }),
    );
  });
