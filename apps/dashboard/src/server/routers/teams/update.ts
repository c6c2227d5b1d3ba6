import { z } from "zod";
import { teamProcedure } from "../../trpc";
import { bodyLoggingModes, bodyLoggingOf } from "./body-logging";
import { teamName } from "./create";

/** A per-minute limit: a positive whole number, or null for none. */
const perMinuteLimit = z.number().int().positive().max(1_000_000_000).nullable();

export const teamsUpdateOutput = z.object({
  id: z.string(),
  name: z.string(),
  rpmLimit: z.number().int().nullable(),
  tpmLimit: z.number().int().nullable(),
  bodyLogging: z.enum(bodyLoggingModes),
});

/**
 * Renames a team, sets its team-wide rate limits or its prompt/response body logging
 * ("off", "redacted", "full") (team admins, org admins). Proxies are told to reload when
 * a limit or the body logging changes, since they apply both.
 */
export const teamsUpdate = teamProcedure("manage")
  .input(
    z.object({
      name: teamName.optional(),
      rpmLimit: perMinuteLimit.optional(),
      tpmLimit: perMinuteLimit.optional(),
      bodyLogging: z.enum(bodyLoggingModes).optional(),
    }),
  )
  .output(teamsUpdateOutput)
  .mutation(async ({ ctx, input }) => {
    const updated = await ctx.db.team.update({
      where: { id: ctx.team.id },
      data: {
        name: input.name,
        rpmLimit: input.rpmLimit,
        tpmLimit: input.tpmLimit,
        bodyLogging: input.bodyLogging,
      },
      select: { id: true, name: true, rpmLimit: true, tpmLimit: true, bodyLogging: true },
    });
    if (
      input.rpmLimit !== undefined ||
      input.tpmLimit !== undefined ||
      input.bodyLogging !== undefined
    )
      await ctx.services.publishConfigChanged("teams");
    return { ...updated, bodyLogging: bodyLoggingOf(updated.bodyLogging) };
  });
