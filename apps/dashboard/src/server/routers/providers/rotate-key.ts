import { z } from "zod";
import { providerKeyLast4 } from "@switchyard/contracts";
import { encryptSecret } from "@switchyard/db";
import { orgAdminProcedure } from "../../trpc";
import { clearKeyInput, keySelect, loadManagedKey, orgIdsOf, providerKeyView, toKeyView, writeResult } from "./shared";

export const providersRotateKeyInput = z.object({ keyId: z.string().min(1), apiKey: clearKeyInput });

/** Replaces a key's secret (same label, same place in the rotation) and records when. */
export const providersRotateKey = orgAdminProcedure
  .input(providersRotateKeyInput)
  .output(writeResult.extend({ key: providerKeyView }))
  .mutation(async ({ ctx, input }) => {
    const key = await loadManagedKey(ctx.db, input.keyId, orgIdsOf(ctx.memberships), ctx.adminOrgIds);
    const row = await ctx.db.providerKey.update({
      where: { id: key.id },
      data: {
        apiKeyEncrypted: encryptSecret(input.apiKey, ctx.services.encryptionKey()),
        apiKeyRef: null,
        last4: providerKeyLast4(input.apiKey),
        rotatedAt: new Date(),
      },
      select: keySelect,
    });
    const published = await ctx.services.publishConfigChanged("providers");
    return { published, key: toKeyView(row) };
  });
