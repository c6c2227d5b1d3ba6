import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { grantProcedure } from "../../trpc";
import { invitationRow, invitationRowSelect, sendInvitationEmail, toInvitationRow } from "./shared";
import { hashInvitationToken, INVITATION_TTL_MS, newInvitationToken } from "./token";

export const invitationEmailInput = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email("Not an email address."));

/**
 * Invites someone by email to a team (teamId) or the whole organisation (teamId null)
 * with a role, by whoever may grant that role. A pending invitation for the same
 * person and scope is replaced. The token is only in the emailed link.
 */
export const invitationsCreate = grantProcedure
  .input(z.object({ email: invitationEmailInput }))
  .output(invitationRow)
  .mutation(async ({ ctx, input }) => {
    const existing = await ctx.db.membership.findFirst({
      where: {
        orgId: ctx.org.id,
        teamId: input.teamId,
        user: { email: { equals: input.email, mode: "insensitive" } },
      },
      select: { id: true },
    });
    if (existing)
      throw new TRPCError({
        code: "CONFLICT",
        message: `${input.email} is already a member of ${ctx.team ? `team ${ctx.team.name}` : ctx.org.name}; change their role instead.`,
      });
    const token = newInvitationToken();
    const invitation = await ctx.db.invitation.create({
      data: {
        orgId: ctx.org.id,
        teamId: input.teamId,
        email: input.email,
        role: input.role,
        tokenHash: hashInvitationToken(token),
        invitedById: ctx.user.id,
        expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
      },
      select: invitationRowSelect,
    });
    try {
      await sendInvitationEmail(ctx.services, {
        to: input.email,
        token,
        orgName: ctx.org.name,
        teamName: ctx.team?.name ?? null,
        role: input.role,
        inviterName: ctx.user.name || ctx.user.email,
        expiresAt: invitation.expiresAt,
      });
    } catch (error) {
      // Nobody can use an invitation whose link never went out.
      await ctx.db.invitation.delete({ where: { id: invitation.id } });
      throw error;
    }
    await ctx.db.invitation.updateMany({
      where: {
        orgId: ctx.org.id,
        teamId: input.teamId,
        email: input.email,
        acceptedAt: null,
        revokedAt: null,
        id: { not: invitation.id },
      },
      data: { revokedAt: new Date() },
    });
    return toInvitationRow(invitation);
  });
