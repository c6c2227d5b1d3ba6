import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { modelCapabilitiesSchema } from "@switchyard/contracts";
import { orgProcedure } from "../../trpc";
import { capabilitiesToStore, capabilityOverridesSchema } from "./shared";

/**
 * Sets the capability overrides of one of the organisation's dashboard models (org
 * owners and admins); null fields fall back to the registry. Models from switchyard.yaml
 * are changed there, instance-wide ones are not the organisation's to change. Proxies
 * reload at once (routing filters targets on these).
 */
export const modelsSetCapabilities = orgProcedure("admin")
  .input(z.object({ modelId: z.string().min(1), capabilities: capabilityOverridesSchema }))
  .output(z.object({ id: z.string(), capabilities: modelCapabilitiesSchema }))
  .mutation(async ({ ctx, input }) => {
    const model = await ctx.db.model.findUnique({
      where: { id: input.modelId },
      select: { id: true, orgId: true, source: true },
    });
    if (!model || (model.orgId !== null && model.orgId !== ctx.org.id))
      throw new TRPCError({ code: "NOT_FOUND", message: "No such model." });
    if (model.source === "CONFIG_FILE")
      throw new TRPCError({ code: "FORBIDDEN", message: "This model is set in switchyard.yaml; change it there." });
    if (model.orgId === null)
      throw new TRPCError({ code: "FORBIDDEN", message: "This model is shared by every organisation; it cannot be changed here." });
    const capabilities = capabilitiesToStore(input.capabilities);
    await ctx.db.model.update({ where: { id: model.id }, data: { capabilities } });
    await ctx.services.publishConfigChanged("models");
    return { id: model.id, capabilities };
  });
