import { z } from "zod";
import { teamAccessOf } from "../../authz";
import { teamScopedProcedure } from "../../trpc";
import { publicKeySelect, stringTags } from "./shared";

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
  /** When the secret was last rotated. */
  rotatedAt: z.date().nullable(),
  /** The previous secret (before the last rotation) is accepted until then: the grace period. */
  previousKeyExpiresAt: z.date().nullable(),
  lastUsedAt: z.date().nullable(),
  /** The user the key is bound to, if any. */
  userId: z.string().nullable(),
  userEmail: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  /** Whether this user may edit, rotate and revoke it (a display hint; the server checks again). */
  canManage: z.boolean(),
});

export const keysListOutput = z.array(keySchema);

/** Virtual keys of the visible teams, newest first. */
export const keysList = teamScopedProcedure.output(keysListOutput).query(async ({ ctx }) => {
  const teamById = new Map(ctx.teams.map((team) => [team.id, team]));
  const keys = await ctx.db.virtualKey.findMany({
    where: { teamId: { in: ctx.teamIds } },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    // An explicit select so keyHash can never be returned by accident.
    select: { ...publicKeySelect, user: { select: { email: true } } },
  });
  return keys.map(({ user, tags, ...key }) => {
    const team = teamById.get(key.teamId);
    const access = team ? teamAccessOf(ctx.memberships, team) : null;
    return {
      ...key,
      teamName: team?.name ?? key.teamId,
      userEmail: user?.email ?? null,
      tags: stringTags(tags),
      canManage: access === "manage" || (access === "member" && key.userId === ctx.user.id),
    };
  });
});
