import { z } from "zod";
import { isOrgAdmin, teamAccessOf } from "../../authz";
import { teamScopedProcedure } from "../../trpc";

/**
 * The teams this user can see, with their access to each, for the key and budget
 * forms (which teams to offer). A display hint: every write is checked again.
 */
export const keysTeams = teamScopedProcedure
  .output(
    z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        slug: z.string(),
        orgId: z.string(),
        orgName: z.string(),
        access: z.enum(["read", "member", "manage"]),
        orgAdmin: z.boolean(),
      }),
    ),
  )
  .query(({ ctx }) =>
    ctx.teams.flatMap((team) => {
      const access = teamAccessOf(ctx.memberships, team);
      return access === null
        ? []
        : [{ ...team, access, orgAdmin: isOrgAdmin(ctx.memberships, team.orgId) }];
    }),
  );
