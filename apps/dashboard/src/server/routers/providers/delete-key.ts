import { z } from "zod";
import { orgAdminProcedure } from "../../trpc";
import { loadManagedKey, orgIdsOf, writeResult } from "./shared";

export const providersDeleteKeyInput = z.object({ keyId: z.string().min(1) });

/** Deletes a key made in the dashboard (config-file keys go when the file drops them). */
export const providersDeleteKey = orgAdminProcedure
  .input(providersDeleteKeyInput)
  .output(writeResult)
  .mutation(async ({ ctx, input }) => {
    const key = await loadManagedKey(ctx.db, input.keyId, orgIdsOf(ctx.memberships), ctx.adminOrgIds);
    await ctx.db.providerKey.delete({ where: { id: key.id } });
    return { published: await ctx.services.publishConfigChanged("providers") };
  });
