import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { teamOrgAdminProcedure } from "../../trpc";

/**
 * Deletes a team (org owners and admins). Refused while it has a key that still works:
 * revoke those first, so nobody's traffic stops by surprise. Its memberships, revoked
 * or expired keys, budgets and invitations go with it; request logs and rollups stay.
 */
export const teamsDelete = teamOrgAdminProcedure
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx }) => {
    const now = new Date();
    const activeKeys = await ctx.db.virtualKey.count({
      where: {
        teamId: ctx.team.id,
        revokedAt: null,
        OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
      },
    });
    if (activeKeys > 0)
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: `Team "${ctx.team.name}" still has ${activeKeys} active key${activeKeys === 1 ? "" : "s"}; revoke ${activeKeys === 1 ? "it" : "them"} first.`,
      });
    await ctx.db.team.delete({ where: { id: ctx.team.id } });
    await ctx.services.publishConfigChanged("teams");
    return { id: ctx.team.id };
  });
