import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { providerSlugSchema, providerTypes } from "@switchyard/contracts";
import { ConfigSource } from "@switchyard/db";
import { getProviderAdapter } from "@switchyard/providers";
import { orgAdminProcedure } from "../../trpc";
import { isUniqueViolation, providerSelect, providerView, toProviderView, writeResult } from "./shared";

export const providersCreateInput = z.object({
  slug: providerSlugSchema,
  type: z.enum(providerTypes),
  baseUrl: z.url({ message: "must be an absolute http(s) URL" }).optional(),
  apiVersion: z.string().trim().min(1).max(64).optional(),
  /** Needed only by admins of several organisations; defaults to their first. */
  orgId: z.string().min(1).optional(),
});

/** A provider connection made in the dashboard, owned by the admin's organisation. Keys are added next. */
export const providersCreate = orgAdminProcedure
  .input(providersCreateInput)
  .output(writeResult.extend({ provider: providerView }))
  .mutation(async ({ ctx, input }) => {
    const orgId = input.orgId ?? ctx.adminOrgIds[0]!;
    if (!ctx.adminOrgIds.includes(orgId))
      throw new TRPCError({ code: "FORBIDDEN", message: "You do not administer that organisation." });
    const adapter = getProviderAdapter(input.type);
    if (!input.baseUrl && !adapter?.defaultBaseUrl)
      throw new TRPCError({ code: "BAD_REQUEST", message: `A ${input.type} provider needs a base URL.` });
    let row;
    try {
      row = await ctx.db.providerCredential.create({
        data: {
          slug: input.slug,
          type: input.type,
          baseUrl: input.baseUrl ?? null,
          apiVersion: input.apiVersion ?? null,
          orgId,
          source: ConfigSource.DASHBOARD,
        },
        select: providerSelect,
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new TRPCError({ code: "CONFLICT", message: `A provider named "${input.slug}" already exists.` });
      throw err;
    }
    const published = await ctx.services.publishConfigChanged("providers");
    return { published, provider: toProviderView(row, ctx.adminOrgIds) };
  });
