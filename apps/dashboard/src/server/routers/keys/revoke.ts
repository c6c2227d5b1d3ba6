import { z } from "zod";
import { keyProcedure } from "../../trpc";

/**
 * Revokes a key now. Idempotent: an already revoked key keeps its revocation time;
 * a key still in its rotation grace period stops at once.
 */
export const keysRevoke = keyProcedure("manage")
  .output(z.object({ id: z.string(), revokedAt: z.date(), alreadyRevoked: z.boolean() }))
  .mutation(async ({ ctx }) => {
    const now = new Date();
    if (ctx.key.revokedAt !== null && ctx.key.revokedAt.getTime() <= now.getTime())
      return { id: ctx.key.id, revokedAt: ctx.key.revokedAt, alreadyRevoked: true };
    await ctx.db.virtualKey.update({ where: { id: ctx.key.id }, data: { revokedAt: now } });
    await ctx.services.publishConfigChanged("keys");
    return { id: ctx.key.id, revokedAt: now, alreadyRevoked: false };
  });
