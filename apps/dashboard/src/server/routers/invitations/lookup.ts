import { z } from "zod";
import { invitationTokenProcedure } from "../../trpc";

export const invitationLookupOutput = z.object({
  state: z.enum(["pending", "accepted", "revoked", "expired"]),
  email: z.string(),
  orgName: z.string(),
  teamName: z.string().nullable(),
  role: z.string(),
  expiresAt: z.date(),
  /** An account with the invited email exists: the invitee signs in to accept. */
  hasAccount: z.boolean(),
  /** The email of whoever is signed in on this browser, if anyone. */
  signedInAs: z.string().nullable(),
});

/** What an invitation link offers, for the public /invite/<token> page. */
export const invitationsLookup = invitationTokenProcedure("inspect")
  .output(invitationLookupOutput)
  .query(async ({ ctx }) => {
    const account = await ctx.db.user.findFirst({
      where: { email: { equals: ctx.invitation.email, mode: "insensitive" } },
      select: { id: true },
    });
    return {
      state: ctx.invitation.state,
      email: ctx.invitation.email,
      orgName: ctx.invitation.org.name,
      teamName: ctx.invitation.team?.name ?? null,
      role: ctx.invitation.role,
      expiresAt: ctx.invitation.expiresAt,
      hasAccount: account !== null,
      signedInAs: ctx.user?.email ?? null,
    };
  });
