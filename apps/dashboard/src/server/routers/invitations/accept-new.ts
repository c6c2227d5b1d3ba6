import { TRPCError } from "@trpc/server";
import { hashPassword } from "better-auth/crypto";
import { Prisma } from "@switchyard/db";
import { z } from "zod";
import { invitationTokenProcedure } from "../../trpc";
import { consumeInvitation, invitationAcceptedOutput } from "./accept";

/** better-auth refuses passwords longer than 128 characters at sign-in. */
export const newPassword = z
  .string()
  .min(12, "Use at least 12 characters.")
  .max(128, "Use at most 128 characters.");

/**
 * Someone without an account accepts: creates the user with an email+password account
 * and the invited membership, in one transaction. The browser then signs in.
 */
export const invitationsAcceptNew = invitationTokenProcedure("accept")
  .input(
    z.object({
      name: z.string().trim().min(1, "Tell us your name.").max(120),
      password: newPassword,
    }),
  )
  .output(invitationAcceptedOutput)
  .mutation(async ({ ctx, input }) => {
    const { invitation } = ctx;
    // Case-insensitive: accounts made by the CLI may spell the address with capitals.
    const exists = await ctx.db.user.findFirst({
      where: { email: { equals: invitation.email, mode: "insensitive" } },
      select: { id: true },
    });
    if (exists)
      throw new TRPCError({
        code: "CONFLICT",
        message: `An account for ${invitation.email} exists: sign in to accept.`,
      });
    const passwordHash = await hashPassword(input.password);
    try {
      await ctx.db.$transaction(async (tx) => {
        // The link reached this mailbox, so the address is verified.
        const user = await tx.user.create({
          data: { email: invitation.email, name: input.name, emailVerified: true },
        });
        await tx.account.create({
          data: {
            userId: user.id,
            accountId: user.id,
            providerId: "credential",
            password: passwordHash,
          },
        });
        await consumeInvitation(tx, invitation, user.id);
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")
        throw new TRPCError({
          code: "CONFLICT",
          message: `An account for ${invitation.email} exists: sign in to accept.`,
        });
      throw error;
    }
    return { email: invitation.email, orgId: invitation.orgId, teamId: invitation.teamId };
  });
