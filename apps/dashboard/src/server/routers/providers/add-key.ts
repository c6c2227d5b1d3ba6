import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { DEFAULT_PROVIDER_KEY_LABEL, providerKeyLabelSchema, providerKeyLast4 } from "@switchyard/contracts";
import { ConfigSource, encryptSecret } from "@switchyard/db";
import { orgAdminProcedure } from "../../trpc";
import {
  clearKeyInput,
  isUniqueViolation,
  keySelect,
  loadManagedProvider,
  orgIdsOf,
  providerKeyView,
  toKeyView,
  writeResult,
} from "./shared";

export const providersAddKeyInput = z.object({
  providerId: z.string().min(1),
  label: providerKeyLabelSchema.default(DEFAULT_PROVIDER_KEY_LABEL),
  apiKey: clearKeyInput,
});

/** Stores a new account key, AES-256-GCM encrypted. The clear key is taken once and never returned. */
export const providersAddKey = orgAdminProcedure
  .input(providersAddKeyInput)
  .output(writeResult.extend({ key: providerKeyView }))
  .mutation(async ({ ctx, input }) => {
    const provider = await loadManagedProvider(ctx.db, input.providerId, orgIdsOf(ctx.memberships), ctx.adminOrgIds);
    let row;
    try {
      row = await ctx.db.providerKey.create({
        data: {
          providerId: provider.id,
          label: input.label,
          apiKeyEncrypted: encryptSecret(input.apiKey, ctx.services.encryptionKey()),
          last4: providerKeyLast4(input.apiKey),
          source: ConfigSource.DASHBOARD,
        },
        select: keySelect,
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new TRPCError({ code: "CONFLICT", message: `Provider "${provider.slug}" already has a key labelled "${input.label}".` });
      throw err;
    }
    const published = await ctx.services.publishConfigChanged("providers");
    return { published, key: toKeyView(row) };
  });
