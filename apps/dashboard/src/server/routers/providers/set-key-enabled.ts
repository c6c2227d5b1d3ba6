import { z } from "zod";
import { orgAdminProcedure } from "../../trpc";
import { keySelect, loadManagedKey, orgIdsOf, providerKeyView, toKeyView, writeResult } from "./shared";

export const providersSetKeyEnabledInput = z.object({ keyId: z.string().min(1), enabled: z.boolean() });

/** Takes a key out of (or back into) the proxies' rotation without losing it. */
export const providersSetKeyEnabled = orgAdminProcedure
  .input(providersSetKeyEnabledInput)
  .output(writeResult.extend({ key: providerKeyView }))
  .mutation(async ({ ctx, input }) => {
    const key = await loadManagedKey(ctx.db, input.keyId, orgIdsOf(ctx.memberships), ctx.adminOrgIds);
    const row = await ctx.db.providerKey.update({
      where: { id: key.id },
      data: { disabledAt: input.enabled ? null : new Date() },
      select: keySelect,
    });
    const published = await ctx.services.publishConfigChanged("providers");
    return { published, key: toKeyView(row) };
  });
