import { z } from "zod";
import { membershipProcedure } from "../../trpc";
import { keepingAnOwner } from "./shared";

/**
 * Removes a membership (the user keeps their account and their other memberships).
 * Keys bound to them stay with the team. The last owner cannot be removed.
 */
export const membersRemove = membershipProcedure
  .output(z.object({ membershipId: z.string() }))
  .mutation(async ({ ctx }) => {
    const remove = (db: Pick<typeof ctx.db, "membership">) =>
      db.membership.delete({ where: { id: ctx.membership.id } });
    if (ctx.membership.role === "ORG_OWNER" && ctx.membership.teamId === null)
      await keepingAnOwner(ctx.db, ctx.membership.orgId, remove);
    else await remove(ctx.db);
    return { membershipId: ctx.membership.id };
  });
