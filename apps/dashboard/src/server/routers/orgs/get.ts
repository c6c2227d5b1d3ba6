import { isOrgAdmin } from "../../authz";
import { orgProcedure } from "../../trpc";
import { orgSettings } from "./shared";

/** An organisation's settings (any member). */
export const orgsGet = orgProcedure("read")
  .output(orgSettings)
  .query(({ ctx }) => ({
    ...ctx.org,
    isAdmin: isOrgAdmin(ctx.memberships, ctx.org.id),
    isOwner: ctx.isOwner,
  }));
