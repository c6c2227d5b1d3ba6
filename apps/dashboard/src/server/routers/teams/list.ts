import { z } from "zod";
import { isOrgAdmin, teamAccessOf } from "../../authz";
import { teamScopedProcedure } from "../../trpc";
import { bodyLoggingModes, bodyLoggingOf } from "./body-logging";

export const teamSummary = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  orgId: z.string(),
  orgName: z.string(),
  /** Team-wide requests / tokens per minute over all its keys; null = unlimited. */
  rpmLimit: z.number().int().nullable(),
  tpmLimit: z.number().int().nullable(),
  /** Prompt/response body logging: off, redacted or full. */
  bodyLogging: z.enum(bodyLoggingModes),
  memberCount: z.number().int(),
  /** Keys neither revoked nor expired. */
  activeKeyCount: z.number().int(),
  /** What the signed-in user may do here, for the page to offer the right controls. */
  access: z.enum(["read", "member", "manage"]),
  canDelete: z.boolean(),
});

/** The teams the user can read, with their limits and counts. */
export const teamsList = teamScopedProcedure.output(z.array(teamSummary)).query(async ({ ctx }) => {
  const now = new Date();
  const [teams, members, keys] = await Promise.all([
    ctx.db.team.findMany({
      where: { id: { in: ctx.teamIds } },
      select: { id: true, rpmLimit: true, tpmLimit: true, bodyLogging: true },
    }),
    ctx.db.membership.groupBy({
      by: ["teamId"],
      where: { teamId: { in: ctx.teamIds } },
      _count: { _all: true },
    }),
    ctx.db.virtualKey.groupBy({
      by: ["teamId"],
      where: {
        teamId: { in: ctx.teamIds },
        revokedAt: null,
        OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
      },
      _count: { _all: true },
    }),
  ]);
  const limits = new Map(teams.map((t) => [t.id, t]));
  const memberCount = new Map(members.map((m) => [m.teamId, m._count._all]));
  const keyCount = new Map(keys.map((k) => [k.teamId, k._count._all]));
  return ctx.teams.map((team) => ({
    ...team,
    rpmLimit: limits.get(team.id)?.rpmLimit ?? null,
    tpmLimit: limits.get(team.id)?.tpmLimit ?? null,
    bodyLogging: bodyLoggingOf(limits.get(team.id)?.bodyLogging ?? "off"),
    memberCount: memberCount.get(team.id) ?? 0,
    activeKeyCount: keyCount.get(team.id) ?? 0,
    access: teamAccessOf(ctx.memberships, team) ?? "read",
    canDelete: isOrgAdmin(ctx.memberships, team.orgId),
  }));
});
