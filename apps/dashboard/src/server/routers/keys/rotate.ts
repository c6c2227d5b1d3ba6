import { TRPCError } from "@trpc/server";
import { generateVirtualKey } from "@switchyard/db";
import { z } from "zod";
import { keyProcedure } from "../../trpc";
import { createdKeySchema, MAX_GRACE_SECONDS } from "./shared";

/**
 * Replaces a key's secret. The key keeps its id, so its settings, budgets, rate-limit
 * windows and usage history simply carry on; only the secret changes. The old secret
 * stays valid for `graceSeconds` (0 = stops now) so clients can switch over. Rotating
 * again during a grace period drops the older secret at once (one previous secret at
 * most). The new clear key is returned once.
 */
export const keysRotate = keyProcedure("manage")
  .input(z.object({ graceSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(0) }))
  .output(createdKeySchema.extend({ oldKeyValidUntil: z.date() }))
  .mutation(async ({ ctx, input }) => {
    const now = new Date();
    const row = await ctx.db.virtualKey.findUniqueOrThrow({ where: { id: ctx.key.id } });
    if (row.revokedAt !== null)
      throw new TRPCError({ code: "BAD_REQUEST", message: "This key is revoked; create a new one instead." });
    if (row.expiresAt !== null && row.expiresAt.getTime() <= now.getTime())
      throw new TRPCError({ code: "BAD_REQUEST", message: "This key has expired; create a new one instead." });
    const { key, hash, prefix } = generateVirtualKey();
    const oldKeyValidUntil = new Date(now.getTime() + input.graceSeconds * 1000);
    // Only one rotation wins when two race: the secret must still be the one we read.
    const updated = await ctx.db.virtualKey.updateMany({
      where: { id: row.id, keyHash: row.keyHash, revokedAt: null },
      data: {
        keyHash: hash,
        prefix,
        previousKeyHash: input.graceSeconds > 0 ? row.keyHash : null,
        previousKeyExpiresAt: input.graceSeconds > 0 ? oldKeyValidUntil : null,
        rotatedAt: now,
      },
    });
    if (updated.count !== 1)
      throw new TRPCError({ code: "CONFLICT", message: "This key was rotated or revoked meanwhile." });
    await ctx.services.publishConfigChanged("keys");
    return { id: row.id, name: row.name, prefix, teamId: row.teamId, userId: row.userId, key, oldKeyValidUntil };
  });
