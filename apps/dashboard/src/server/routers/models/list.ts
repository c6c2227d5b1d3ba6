import { z } from "zod";
import { modelCapabilitiesSchema } from "@switchyard/contracts";
import { capabilitiesAt, priceAt, pricingOf, resolveCapabilities } from "@switchyard/pricing";
import { isOrgAdmin } from "../../authz";
import { orgProcedure } from "../../trpc";
import { storedPricing } from "../prices/shared";
import { storedCapabilities } from "./shared";

export const modelsListOutput = z.object({
  canEdit: z.boolean(),
  models: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      provider: z.string(),
      upstreamModel: z.string(),
      /** This organisation's custom model (only its keys call it) rather than an instance-wide one. */
      custom: z.boolean(),
      source: z.enum(["CONFIG_FILE", "DASHBOARD"]),
      /**
       * Whether this user may edit the capability overrides here. Why not, when not:
       * "config-file" (set in switchyard.yaml), "instance-wide" (shared by every
       * organisation), "role" (org owners and admins only).
       */
      editable: z.boolean(),
      readOnlyReason: z.enum(["config-file", "instance-wide", "role"]).nullable(),
      /** The registry's values (packages/pricing); null when the model is not in it. */
      registry: modelCapabilitiesSchema.nullable(),
      /** The values set on the model (dashboard or switchyard.yaml); they win over the registry's. */
      overrides: modelCapabilitiesSchema,
      /** What the proxy uses: the overrides over the registry. Unset fields are unknown. */
      effective: modelCapabilitiesSchema,
      /** The price in force for this organisation, and where it comes from; null: unpriced. */
      price: z
        .object({
          inputPerMTok: z.string(),
          outputPerMTok: z.string(),
          source: z.enum(["override", "configured", "registry"]),
        })
        .nullable(),
    }),
  ),
});

/**
 * The model registry as this organisation sees it (any member): every model its keys
 * can call, with capabilities (registry value vs override) and the price it pays
 * (its override > the model's configured price > the registry).
 */
export const modelsList = orgProcedure("read")
  .output(modelsListOutput)
  .query(async ({ ctx }) => {
    const canEdit = isOrgAdmin(ctx.memberships, ctx.org.id);
    const [models, overrides] = await Promise.all([
      ctx.db.model.findMany({
        where: { OR: [{ orgId: null }, { orgId: ctx.org.id }] },
        select: {
          id: true,
          orgId: true,
          name: true,
          upstreamModel: true,
          pricing: true,
          capabilities: true,
          source: true,
          provider: { select: { slug: true } },
        },
        orderBy: { name: "asc" },
      }),
      ctx.db.priceOverride.findMany({ where: { orgId: ctx.org.id }, select: { upstreamModel: true, pricing: true } }),
    ]);
    const overrideByModel = new Map(overrides.map((o) => [o.upstreamModel, storedPricing(o.pricing)]));
    const now = new Date();
    return {
      canEdit,
      models: models.map((m) => {
        const configured = storedCapabilities(m.capabilities);
        const readOnlyReason =
          m.source === "CONFIG_FILE"
            ? ("config-file" as const)
            : m.orgId === null
              ? ("instance-wide" as const)
              : canEdit
                ? null
                : ("role" as const);
        const override = overrideByModel.get(m.upstreamModel) ?? null;
        const own = storedPricing(m.pricing);
        const entry = override || own ? null : priceAt(m.upstreamModel, now);
        const pricing = override ?? own ?? (entry ? pricingOf(entry) : null);
        return {
          id: m.id,
          name: m.name,
          provider: m.provider.slug,
          upstreamModel: m.upstreamModel,
          custom: m.orgId !== null,
          source: m.source,
          editable: readOnlyReason === null,
          readOnlyReason,
          registry: capabilitiesAt(m.upstreamModel),
          overrides: configured,
          effective: resolveCapabilities(m.upstreamModel, configured),
          price: pricing
            ? {
                inputPerMTok: pricing.inputPerMTok,
                outputPerMTok: pricing.outputPerMTok,
                source: override ? ("override" as const) : own ? ("configured" as const) : ("registry" as const),
              }
            : null,
        };
      }),
    };
  });
