import { TRPCError } from "@trpc/server";
import { invitationProcedure } from "../../trpc";
import { invitationRow, invitationRowSelect, sendInvitationEmail, toInvitationRow } from "./shared";
import { hashInvitationToken, INVITATION_TTL_MS, newInvitationToken } from "./token";

/** Sends a new link (new token, 7 more days); the previous link stops working. */
export const invitationsResend = invitationProcedure
  .output(invitationRow)
  .mutation(async ({ ctx }) => {
    const token = newInvitationToken();
    const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
    const { count } = await ctx.db.invitation.updateMany({
      where: { id: ctx.invitation.id, acceptedAt: null, revokedAt: null },
      data: { tokenHash: hashInvitationToken(token), expiresAt },
    });
    if (count === 0)
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: "This invitation was already accepted or withdrawn.",
      });
    await sendInvitationEmail(ctx.services, {
      to: ctx.invitation.email,
      token,
      orgName: ctx.invitation.org.name,
      teamName: ctx.invitation.team?.name ?? null,
      role: ctx.invitation.role,
      inviterName: ctx.user.name || ctx.user.email,
      expiresAt,
    });
    return toInvitationRow(
      await ctx.db.invitation.findUniqueOrThrow({
        where: { id: ctx.invitation.id },
        select: invitationRowSelect,
      }),
    );
  });
