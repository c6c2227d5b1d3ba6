import { z } from "zod";
import { teamProcedure } from "../../trpc";
import { teamName } from "./create";

/** A per-minute limit: a positive whole number, or null for none. */
const perMinuteLimit = z.number().int().positive().max(1_000_000_000).nullable();

export const teamsUpdateOutput = z.object({
  id: z.string(),
  name: z.string(),
  rpmLimit: z.number().int().nullable(),
  tpmLimit: z.number().int().nullable(),
});

/**
 * Renames a team or sets its team-wide rate limits (team admins, org admins). Proxies
 * are told to reload when a limit changes.
 */
export const teamsUpdate = teamProcedure("manage")
  .input(
    z.object({
      name: teamName.optional(),
      rpmLimit: perMinuteLimit.optional(),
      tpmLimit: perMinuteLimit.optional(),
    }),
  )
  .output(teamsUpdateOutput)
  .mutation(async ({ ctx, input }) => {
    const updated = await ctx.db.team.update({
      where: { id: ctx.team.id },
      data: { name: input.name, rpmLimit: input.rpmLimit, tpmLimit: input.tpmLimit },
      select: { id: true, name: true, rpmLimit: true, tpmLimit: true },
    });
    if (input.rpmLimit !== undefined || input.tpmLimit !== undefined)
      await ctx.services.publishConfigChanged("teams");
    return updated;
  });
