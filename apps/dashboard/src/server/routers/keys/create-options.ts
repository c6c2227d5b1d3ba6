import { z } from "zod";
import { teamProcedure } from "../../trpc";
import { modelNamesFor } from "./shared";

/**
 * What the "New key" form offers for one team: the models and routes a key may be
 * limited to, and whom it may be bound to (a MEMBER: only themselves).
 */
export const keysCreateOptions = teamProcedure("member")
  .output(
    z.object({
      models: z.array(z.string()),
      routes: z.array(z.string()),
      users: z.array(z.object({ id: z.string(), email: z.string(), name: z.string() })),
      canBindOthers: z.boolean(),
    }),
  )
  .query(async ({ ctx }) => {
    const { models, routes } = await modelNamesFor(ctx.db, ctx.team.orgId);
    const canBindOthers = ctx.access === "manage";
    const users = canBindOthers
      ? await ctx.db.user.findMany({
          where: { memberships: { some: { teamId: ctx.team.id } } },
          select: { id: true, email: true, name: true },
          orderBy: { email: "asc" },
        })
      : [{ id: ctx.user.id, email: ctx.user.email, name: ctx.user.name }];
    return { models, routes, users, canBindOthers };
  });
