import { TRPCError } from "@trpc/server";
import type { Prisma, Role } from "@switchyard/db";
import { z } from "zod";
import { invitationAcceptProcedure } from "../../trpc";

export const invitationAcceptedOutput = z.object({
  email: z.string(),
  orgId: z.string(),
  teamId: z.string().nullable(),
});

/**
 * Marks the invitation used (only if still pending: a token works once, even under
 * concurrent clicks) and gives the user the invited role in its scope.
 */
export async function consumeInvitation(
  tx: Prisma.TransactionClient,
  invitation: { id: string; orgId: string; teamId: string | null; role: Role },
  userId: string,
): Promise<void> {
  const { count } = await tx.invitation.updateMany({
    where: { id: invitation.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
    data: { acceptedAt: new Date() },
  });
  if (count === 0)
    throw new TRPCError({
      code: "PRECONDITION_FAILED",
      message: "This invitation is no longer valid.",
    });
  // findFirst, not upsert: Postgres treats NULL teamIds as distinct in the unique index.
  const existing = await tx.membership.findFirst({
    where: { userId, orgId: invitation.orgId, teamId: invitation.teamId },
    select: { id: true },
  });
  if (existing)
    await tx.membership.update({ where: { id: existing.id }, data: { role: invitation.role } });
  else
    await tx.membership.create({
      data: { userId, orgId: invitation.orgId, teamId: invitation.teamId, role: invitation.role },
    });
}

/** A signed-in user accepts an invitation sent to their email. */
export const invitationsAccept = invitationAcceptProcedure
  .output(invitationAcceptedOutput)
  .mutation(async ({ ctx }) => {
    await ctx.db.$transaction((tx) => consumeInvitation(tx, ctx.invitation, ctx.user.id));
    return {
      email: ctx.invitation.email,
      orgId: ctx.invitation.orgId,
      teamId: ctx.invitation.teamId,
    };
  });
