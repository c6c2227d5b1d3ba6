import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { keyProcedure } from "../../trpc";
import {
  allowedModelsSchema,
  assertFuture,
  assertKnownModels,
  keyNameSchema,
  tagsSchema,
} from "./shared";

const limit = z.number().int().min(1).max(2_147_483_647).nullable();

/** Edits a key's name, models, limits, tags or expiry. Fields left out keep their value. */
export const keysUpdate = keyProcedure("manage")
  .input(
    z.object({
      name: keyNameSchema.optional(),
      allowedModels: allowedModelsSchema.optional(),
      rpmLimit: limit.optional(),
      tpmLimit: limit.optional(),
      tags: tagsSchema.optional(),
      expiresAt: z.date().nullable().optional(),
    }),
  )
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    if (ctx.key.revokedAt !== null)
      throw new TRPCError({
        code: "BAD_REQUEST",
        message: "A revoked or rotated key cannot be edited.",
      });
    assertFuture(input.expiresAt);
    if (input.allowedModels) await assertKnownModels(ctx.db, ctx.key.orgId, input.allowedModels);
    await ctx.db.virtualKey.update({
      where: { id: ctx.key.id },
      data: {
        name: input.name,
        allowedModels: input.allowedModels,
        rpmLimit: input.rpmLimit,
        tpmLimit: input.tpmLimit,
        tags: input.tags,
        expiresAt: input.expiresAt,
      },
    });
    await ctx.services.publishConfigChanged("keys");
    return { id: ctx.key.id };
  });
