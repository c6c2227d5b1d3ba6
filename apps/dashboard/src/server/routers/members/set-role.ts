import { z } from "zod";
import { membershipProcedure, roleSchema } from "../../trpc";
import { keepingAnOwner } from "./shared";

/**
 * Changes a member's role within the same scope (a team role in the team, an org role
 * org-wide). Who may is decided by membershipProcedure; the last owner stays an owner.
 */
export const membersSetRole = membershipProcedure
  .input(z.object({ role: roleSchema }))
  .output(z.object({ membershipId: z.string(), role: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const role = input.role;
    const update = (db: Pick<typeof ctx.db, "membership">) =>
      db.membership.update({
        where: { id: ctx.membership.id },
        data: { role },
        select: { id: true, role: true },
      });
    const updated =
      ctx.membership.role === "ORG_OWNER" && ctx.membership.teamId === null
        ? await keepingAnOwner(ctx.db, ctx.membership.orgId, update)
        : await update(ctx.db);
    return { membershipId: updated.id, role: updated.role };
  });
