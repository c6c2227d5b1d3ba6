import { z } from "zod";
import { teamScopedProcedure } from "../../trpc";

const keySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The visible start of the key ("sk-sy-AbC1…"); the key itself and its hash never leave the server. */
  prefix: z.string(),
  teamId: z.string(),
  teamName: z.string(),
  /** Empty = every model. */
  allowedModels: z.array(z.string()),
  rpmLimit: z.number().int().nullable(),
  tpmLimit: z.number().int().nullable(),
  createdAt: z.date(),
  expiresAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
  lastUsedAt: z.date().nullable(),
});

export const keysListOutput = z.array(keySchema);

/** Virtual keys of the visible teams, newest first. */
export const keysList = teamScopedProcedure.output(keysListOutput).query(async ({ ctx }) => {
  const teamById = new Map(ctx.teams.map((team) => [team.id, team]));
  const keys = await ctx.db.virtualKey.findMany({
    where: { teamId: { in: ctx.teamIds } },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    // An explicit select so keyHash can never be returned by accident.
    select: {
      id: true,
      name: true,
      prefix: true,
      teamId: true,
      allowedModels: true,
      rpmLimit: true,
      tpmLimit: true,
      createdAt: true,
      expiresAt: true,
      revokedAt: true,
      lastUsedAt: true,
    },
  });
  return keys.map((key) => ({ ...key, teamName: teamById.get(key.teamId)?.name ?? key.teamId }));
});
