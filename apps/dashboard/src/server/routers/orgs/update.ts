import { z } from "zod";
import { isOrgAdmin } from "../../authz";
import { orgProcedure } from "../../trpc";
import { canonicalTimeZone, isValidTimeZone, orgSettings } from "./shared";

/**
 * Renames the organisation, changes its time zone or its request-log retention (org
 * owners and admins). Budget periods follow the time zone, so proxies and the worker
 * are told to reload.
 */
export const orgsUpdate = orgProcedure("admin")
  .input(
    z.object({
      name: z.string().trim().min(1, "Give the organisation a name.").max(120).optional(),
      timeZone: z
        .string()
        .trim()
        .refine(isValidTimeZone, "Not a time zone: use an IANA name such as Europe/Paris or UTC.")
        .transform(canonicalTimeZone)
        .optional(),
      /** 1 to 3650 days; null keeps the whole request log. */
      requestLogRetentionDays: z.number().int().min(1).max(3650).nullable().optional(),
    }),
  )
  .output(orgSettings)
  .mutation(async ({ ctx, input }) => {
    const org = await ctx.db.organization.update({
      where: { id: ctx.org.id },
      data: {
        name: input.name,
        timeZone: input.timeZone,
        requestLogRetentionDays: input.requestLogRetentionDays,
      },
      select: { id: true, slug: true, name: true, timeZone: true, requestLogRetentionDays: true },
    });
    if (input.timeZone !== undefined && input.timeZone !== ctx.org.timeZone)
      await ctx.services.publishConfigChanged("orgs");
    return { ...org, isAdmin: isOrgAdmin(ctx.memberships, org.id), isOwner: ctx.isOwner };
  });
