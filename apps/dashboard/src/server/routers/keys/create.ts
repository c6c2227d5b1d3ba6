import { TRPCError } from "@trpc/server";
import { generateVirtualKey } from "@switchyard/db";
import { z } from "zod";
import { teamAccessOf } from "../../authz";
import { teamProcedure } from "../../trpc";
import { assertFuture, assertKnownModels, createdKeySchema, keySettingsSchema } from "./shared";

/**
 * Creates a virtual key for a team. A MEMBER creates keys bound to themselves only;
 * team and org admins may bind a key to anyone with access to the team, or to nobody.
 * The clear key is in this response and nowhere else: only its SHA-256 is stored.
 */
export const keysCreate = teamProcedure("member")
  .input(keySettingsSchema.extend({ userId: z.string().min(1).nullable().optional() }))
  .output(createdKeySchema)
  .mutation(async ({ ctx, input }) => {
    let userId: string | null;
    if (ctx.access === "manage") {
      userId = input.userId ?? null;
    } else {
      if (input.userId !== undefined && input.userId !== null && input.userId !== ctx.user.id)
        throw new TRPCError({
          code: "FORBIDDEN",
          message: "Members can only create keys bound to themselves.",
        });
      userId = ctx.user.id;
    }
    if (userId !== null && userId !== ctx.user.id) {
      const theirs = await ctx.db.membership.findMany({
        where: { userId, orgId: ctx.team.orgId },
        select: { orgId: true, teamId: true, role: true },
      });
      if (teamAccessOf(theirs, ctx.team) === null)
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: "A key can only be bound to someone in its team.",
        });
    }
    assertFuture(input.expiresAt);
    await assertKnownModels(ctx.db, ctx.team.orgId, input.allowedModels);

    const { key, hash, prefix } = generateVirtualKey();
    const created = await ctx.db.virtualKey.create({
      data: {
        orgId: ctx.team.orgId,
        teamId: ctx.team.id,
        userId,
        name: input.name,
        keyHash: hash,
        prefix,
        allowedModels: input.allowedModels,
        rpmLimit: input.rpmLimit,
        tpmLimit: input.tpmLimit,
        tags: input.tags,
        expiresAt: input.expiresAt,
      },
      select: { id: true, name: true, prefix: true, teamId: true, userId: true },
    });
    await ctx.services.publishConfigChanged("keys");
    return { ...created, key };
  });
