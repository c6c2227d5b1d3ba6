import { TRPCError } from "@trpc/server";
import type { Role } from "@switchyard/db";
import type { MembershipInfo } from "./trpc";

/**
 * Who may do what, decided from the memberships loaded once per request.
 *
 * - ORG_OWNER (org-wide): everything in the organisation, including owners.
 * - ORG_ADMIN (org-wide): everything in the organisation except making or removing owners.
 * - VIEWER (org-wide): reads every team of the organisation, changes nothing.
 * - TEAM_ADMIN (team): manages the team: its keys, budgets, limits and members.
 * - MEMBER (team): reads the team; creates, rotates and revokes keys bound to themselves.
 * - VIEWER (team): reads the team, changes nothing.
 * An org-wide MEMBER (no team) sees no team.
 */
export type TeamAccess = "read" | "member" | "manage";

const ORG_ADMIN_ROLES: readonly Role[] = ["ORG_OWNER", "ORG_ADMIN"];
const RANK: Record<TeamAccess, number> = { read: 1, member: 2, manage: 3 };

export function isOrgAdmin(memberships: readonly MembershipInfo[], orgId: string): boolean {
  return memberships.some((m) => m.orgId === orgId && m.teamId === null && ORG_ADMIN_ROLES.includes(m.role));
}

export function isOrgOwner(memberships: readonly MembershipInfo[], orgId: string): boolean {
  return memberships.some((m) => m.orgId === orgId && m.teamId === null && m.role === "ORG_OWNER");
}

/** Any membership in the organisation (org-wide or of one of its teams). */
export function isOrgMember(memberships: readonly MembershipInfo[], orgId: string): boolean {
  return memberships.some((m) => m.orgId === orgId);
}

/** The highest access the user has to a team, or null for none. */
export function teamAccessOf(
  memberships: readonly MembershipInfo[],
  team: { orgId: string; id: string },
): TeamAccess | null {
  let best: TeamAccess | null = null;
  const raise = (a: TeamAccess) => {
    if (best === null || RANK[a] > RANK[best]) best = a;
  };
  for (const m of memberships) {
    if (m.orgId !== team.orgId) continue;
    if (m.teamId === null) {
      if (ORG_ADMIN_ROLES.includes(m.role)) raise("manage");
      else if (m.role === "VIEWER") raise("read");
    } else if (m.teamId === team.id) {
      if (m.role === "TEAM_ADMIN") raise("manage");
      else if (m.role === "MEMBER") raise("member");
      else raise("read");
    }
  }
  return best;
}

/**
 * Throws unless the user has at least `needed` on the team. No access at all is
 * NOT_FOUND (the team's existence is not revealed); too little is FORBIDDEN.
 */
export function assertTeamAccess(
  memberships: readonly MembershipInfo[],
  team: { orgId: string; id: string },
  needed: TeamAccess,
): TeamAccess {
  const access = teamAccessOf(memberships, team);
  if (access === null) throw new TRPCError({ code: "NOT_FOUND", message: "No such team." });
  if (RANK[access] < RANK[needed]) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message:
        needed === "manage"
          ? "Only team admins and organisation admins can change this."
          : "Your role in this team is read-only.",
    });
  }
  return access;
}

/** Throws unless the user is owner or admin of the organisation (NOT_FOUND when not a member at all). */
export function assertOrgAdmin(memberships: readonly MembershipInfo[], orgId: string): void {
  if (!isOrgMember(memberships, orgId)) throw new TRPCError({ code: "NOT_FOUND", message: "No such organisation." });
  if (!isOrgAdmin(memberships, orgId)) {
    throw new TRPCError({ code: "FORBIDDEN", message: "Only organisation owners and admins can do this." });
  }
}

/** Roles held org-wide (teamId null). An org-wide MEMBER exists (CLI) but grants nothing, so it is not offered. */
export const ORG_SCOPE_ROLES: readonly Role[] = ["ORG_OWNER", "ORG_ADMIN", "VIEWER"];
/** Roles held within one team. */
export const TEAM_SCOPE_ROLES: readonly Role[] = ["TEAM_ADMIN", "MEMBER", "VIEWER"];

/**
 * Throws unless the user may give or take away `role` in the scope (an invitation, a
 * role change, a removal): a team role by whoever manages that team; an org-wide role
 * by org owners and admins; ORG_OWNER by owners only. Outsiders get NOT_FOUND.
 */
export function assertMayGrant(
  memberships: readonly MembershipInfo[],
  scope: { orgId: string; teamId: string | null },
  role: Role,
): void {
  if (scope.teamId !== null) {
    assertTeamAccess(memberships, { orgId: scope.orgId, id: scope.teamId }, "manage");
    return;
  }
  assertOrgAdmin(memberships, scope.orgId);
  if (role === "ORG_OWNER" && !isOrgOwner(memberships, scope.orgId)) {
    throw new TRPCError({ code: "FORBIDDEN", message: "Only organisation owners can make or remove owners." });
  }
}

/** Throws BAD_REQUEST when the role cannot be held in that scope (team roles in a team, org roles org-wide). */
export function assertRoleFitsScope(teamId: string | null, role: Role): void {
  const allowed = teamId === null ? ORG_SCOPE_ROLES : TEAM_SCOPE_ROLES;
  if (!allowed.includes(role)) {
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `${role} is not a ${teamId === null ? "organisation-wide" : "team"} role (use one of ${allowed.join(", ")}).`,
    });
  }
}
