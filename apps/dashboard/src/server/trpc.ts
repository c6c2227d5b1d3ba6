import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z } from "zod";
import type { PrismaClient, Role } from "@switchyard/db";
import { defaultServices, type ServerServices } from "./services";
import {
  assertMayGrant,
  assertOrgAdmin,
  assertRoleFitsScope,
  assertTeamAccess,
  isOrgMember,
  isOrgOwner,
  type TeamAccess,
} from "./authz";
import { hashInvitationToken, invitationState } from "./routers/invitations/token";

export interface SessionUser {
  id: string;
  email: string;
  name: string;
}

export interface MembershipInfo {
  orgId: string;
  teamId: string | null;
  role: Role;
}

export interface Context {
  db: PrismaClient;
  user: SessionUser | null;
  memberships: MembershipInfo[];
  services: ServerServices;
}

/**
 * Builds the context for a (possibly anonymous) user: their memberships are loaded
 * once per request so every procedure base can authorize from them.
 */
export async function createContextForUser(
  db: PrismaClient,
  user: SessionUser | null,
  services: ServerServices = defaultServices,
): Promise<Context> {
  if (!user) return { db, user: null, memberships: [], services };
  const memberships = await db.membership.findMany({
    where: { userId: user.id },
    select: { orgId: true, teamId: true, role: true },
  });
  return { db, user, memberships, services };
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter: ({ shape }) => shape,
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = t.procedure;

/** Signed-in users only. */
export const protectedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first." });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

/** Roles that see every team of their organisation when held org-wide (teamId null). */
const ORG_WIDE_ROLES: readonly Role[] = ["ORG_OWNER", "ORG_ADMIN"];

/** The organisations where the user is owner or admin org-wide (teamId null). */
export function adminOrgIdsOf(memberships: readonly MembershipInfo[]): string[] {
  return [
    ...new Set(
      memberships
        .filter((m) => m.teamId === null && ORG_WIDE_ROLES.includes(m.role))
        .map((m) => m.orgId),
    ),
  ];
}

/**
 * Organisation administration (provider credentials, …): owners and admins only.
 * `ctx.adminOrgIds` lists the organisations the user administers; handlers must
 * still check that what they touch belongs to one of them.
 */
export const orgAdminProcedure = protectedProcedure.use(({ ctx, next }) => {
  const adminOrgIds = adminOrgIdsOf(ctx.memberships);
  if (adminOrgIds.length === 0)
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "Only organisation owners and admins can do this.",
    });
  return next({ ctx: { ...ctx, adminOrgIds } });
});

export interface VisibleTeam {
  id: string;
  slug: string;
  name: string;
  orgId: string;
  orgName: string;
}

/**
 * The teams a user may read: those they hold a team membership for, plus every team
 * of an organisation where they are owner, admin or viewer org-wide.
 */
export async function resolveVisibleTeams(
  db: PrismaClient,
  memberships: readonly MembershipInfo[],
): Promise<VisibleTeam[]> {
  // An org-wide VIEWER reads every team too (authz.ts), so it sees them all here.
  const orgWide = memberships
    .filter((m) => m.teamId === null && (ORG_WIDE_ROLES.includes(m.role) || m.role === "VIEWER"))
    .map((m) => m.orgId);
  const direct = memberships.flatMap((m) => (m.teamId === null ? [] : [m.teamId]));
  if (orgWide.length === 0 && direct.length === 0) return [];
  const teams = await db.team.findMany({
    where: { OR: [{ orgId: { in: orgWide } }, { id: { in: direct } }] },
    select: { id: true, slug: true, name: true, orgId: true, org: { select: { name: true } } },
    orderBy: [{ orgId: "asc" }, { slug: "asc" }],
  });
  return teams.map(({ org, ...team }) => ({ ...team, orgName: org.name }));
}

/** Optional narrowing to one team; every team-scoped input accepts it. */
export const teamFilterInput = z.object({ teamId: z.string().min(1).optional() });

/**
 * Team-scoped reads. `ctx.teamIds` holds the teams this user may see, narrowed to
 * `input.teamId` when given (FORBIDDEN if that team is not visible). Handlers filter
 * by `ctx.teamIds` and nothing else.
 */
export const teamScopedProcedure = protectedProcedure
  .input(teamFilterInput)
  .use(async ({ ctx, input, next }) => {
    const teams = await resolveVisibleTeams(ctx.db, ctx.memberships);
    let scoped = teams;
    if (input.teamId !== undefined) {
      scoped = teams.filter((team) => team.id === input.teamId);
      if (scoped.length === 0)
        throw new TRPCError({ code: "FORBIDDEN", message: "You are not a member of that team." });
    }
    return next({ ctx: { ...ctx, teams: scoped, teamIds: scoped.map((team) => team.id) } });
  });

/** The team a procedure names; NOT_FOUND when there is none. */
async function loadTeam(db: PrismaClient, teamId: string) {
  const team = await db.team.findUnique({
    where: { id: teamId },
    select: { id: true, orgId: true, slug: true, name: true },
  });
  if (!team) throw new TRPCError({ code: "NOT_FOUND", message: "No such team." });
  return team;
}

/**
 * Procedure bases for everything that reads or changes one team's things. Each loads
 * the object named by its input, decides from the memberships (authz.ts) and hands
 * the loaded object to the handler, so no handler decides access on its own.
 */
export function teamProcedure(needed: TeamAccess) {
  return protectedProcedure
    .input(z.object({ teamId: z.string().min(1) }))
    .use(async ({ ctx, input, next }) => {
      const team = await loadTeam(ctx.db, input.teamId);
      const access = assertTeamAccess(ctx.memberships, team, needed);
      return next({ ctx: { ...ctx, team, access } });
    });
}

/** Organisation-level reads ("read": any member) and changes ("admin": owners and admins). */
export function orgProcedure(needed: "read" | "admin") {
  return protectedProcedure
    .input(z.object({ orgId: z.string().min(1) }))
    .use(async ({ ctx, input, next }) => {
      if (needed === "admin") assertOrgAdmin(ctx.memberships, input.orgId);
      else if (!isOrgMember(ctx.memberships, input.orgId))
        throw new TRPCError({ code: "NOT_FOUND", message: "No such organisation." });
      const org = await ctx.db.organization.findUnique({
        where: { id: input.orgId },
        select: { id: true, slug: true, name: true, timeZone: true, requestLogRetentionDays: true },
      });
      if (!org) throw new TRPCError({ code: "NOT_FOUND", message: "No such organisation." });
      return next({ ctx: { ...ctx, org, isOwner: isOrgOwner(ctx.memberships, org.id) } });
    });
}

/**
 * One virtual key. "read": anyone who reads its team. "manage": team admins and org
 * admins, and a MEMBER for a key bound to themselves.
 */
export function keyProcedure(needed: "read" | "manage") {
  return protectedProcedure
    .input(z.object({ keyId: z.string().min(1) }))
    .use(async ({ ctx, input, next }) => {
      const key = await ctx.db.virtualKey.findUnique({
        where: { id: input.keyId },
        select: { id: true, orgId: true, teamId: true, userId: true, name: true, revokedAt: true },
      });
      if (!key) throw new TRPCError({ code: "NOT_FOUND", message: "No such key." });
      const team = { id: key.teamId, orgId: key.orgId };
      if (needed === "manage" && key.userId === ctx.user.id) assertTeamAccess(ctx.memberships, team, "member");
      else assertTeamAccess(ctx.memberships, team, needed === "manage" ? "manage" : "read");
      return next({ ctx: { ...ctx, key } });
    });
}

/**
 * One budget. An org budget is the org admins'; a team or key budget is managed by
 * whoever manages that team, and read by whoever reads it.
 */
export function budgetProcedure(needed: "read" | "manage") {
  return protectedProcedure
    .input(z.object({ budgetId: z.string().min(1) }))
    .use(async ({ ctx, input, next }) => {
      const budget = await ctx.db.budget.findUnique({
        where: { id: input.budgetId },
        include: { virtualKey: { select: { teamId: true } } },
      });
      if (!budget) throw new TRPCError({ code: "NOT_FOUND", message: "No such budget." });
      const teamId = budget.teamId ?? budget.virtualKey?.teamId ?? null;
      if (budget.scope === "ORG" || teamId === null) {
        if (needed === "manage") assertOrgAdmin(ctx.memberships, budget.orgId);
        else if (!isOrgMember(ctx.memberships, budget.orgId))
          throw new TRPCError({ code: "NOT_FOUND", message: "No such budget." });
      } else {
        assertTeamAccess(ctx.memberships, { id: teamId, orgId: budget.orgId }, needed === "manage" ? "manage" : "read");
      }
      return next({ ctx: { ...ctx, budget } });
    });
}

/** Every role, for inputs that name one. */
export const roleSchema = z.enum(["ORG_OWNER", "ORG_ADMIN", "TEAM_ADMIN", "MEMBER", "VIEWER"]) satisfies z.ZodType<Role>;

/**
 * One team that only its organisation's owners and admins may change (deleting it).
 * Outsiders get NOT_FOUND, the team's own admins and members FORBIDDEN.
 */
export const teamOrgAdminProcedure = protectedProcedure
  .input(z.object({ teamId: z.string().min(1) }))
  .use(async ({ ctx, input, next }) => {
    const team = await loadTeam(ctx.db, input.teamId);
    assertTeamAccess(ctx.memberships, team, "read");
    assertOrgAdmin(ctx.memberships, team.orgId);
    return next({ ctx: { ...ctx, team } });
  });

/**
 * Giving a role in a scope (an invitation): `teamId` null is org-wide. Decided by
 * assertMayGrant: team roles by the team's managers, org roles by org admins, owners by owners.
 */
export const grantProcedure = protectedProcedure
  .input(z.object({ orgId: z.string().min(1), teamId: z.string().min(1).nullable(), role: roleSchema }))
  .use(async ({ ctx, input, next }) => {
    const org = await ctx.db.organization.findUnique({
      where: { id: input.orgId },
      select: { id: true, slug: true, name: true },
    });
    if (!org || !isOrgMember(ctx.memberships, org.id))
      throw new TRPCError({ code: "NOT_FOUND", message: "No such organisation." });
    let team: { id: string; slug: string; name: string } | null = null;
    if (input.teamId !== null) {
      team = await ctx.db.team.findFirst({
        where: { id: input.teamId, orgId: org.id },
        select: { id: true, slug: true, name: true },
      });
      if (!team) throw new TRPCError({ code: "NOT_FOUND", message: "No such team." });
    }
    assertMayGrant(ctx.memberships, { orgId: org.id, teamId: input.teamId }, input.role);
    assertRoleFitsScope(input.teamId, input.role);
    return next({ ctx: { ...ctx, org, team } });
  });

/**
 * One membership, to change its role (`role` given) or remove it: the user must be
 * able to grant both its current role and the new one (assertMayGrant).
 */
export const membershipProcedure = protectedProcedure
  .input(z.object({ membershipId: z.string().min(1), role: roleSchema.optional() }))
  .use(async ({ ctx, input, next }) => {
    const membership = await ctx.db.membership.findUnique({
      where: { id: input.membershipId },
      select: { id: true, orgId: true, teamId: true, role: true, userId: true },
    });
    if (!membership) throw new TRPCError({ code: "NOT_FOUND", message: "No such member." });
    const scope = { orgId: membership.orgId, teamId: membership.teamId };
    assertMayGrant(ctx.memberships, scope, membership.role);
    if (input.role !== undefined) {
      assertMayGrant(ctx.memberships, scope, input.role);
      assertRoleFitsScope(membership.teamId, input.role);
    }
    return next({ ctx: { ...ctx, membership } });
  });

/** One invitation, to revoke or resend: whoever may grant its role in its scope. */
export const invitationProcedure = protectedProcedure
  .input(z.object({ invitationId: z.string().min(1) }))
  .use(async ({ ctx, input, next }) => {
    const invitation = await ctx.db.invitation.findUnique({
      where: { id: input.invitationId },
      include: { org: { select: { name: true } }, team: { select: { name: true } } },
    });
    if (!invitation) throw new TRPCError({ code: "NOT_FOUND", message: "No such invitation." });
    assertMayGrant(ctx.memberships, { orgId: invitation.orgId, teamId: invitation.teamId }, invitation.role);
    return next({ ctx: { ...ctx, invitation } });
  });

const invitationTokenInput = z.object({ token: z.string().min(16).max(200) });

async function loadInvitationByToken(db: PrismaClient, token: string) {
  const invitation = await db.invitation.findUnique({
    where: { tokenHash: hashInvitationToken(token) },
    include: { org: { select: { name: true } }, team: { select: { name: true } } },
  });
  if (!invitation) throw new TRPCError({ code: "NOT_FOUND", message: "This invitation link is not valid." });
  return { ...invitation, state: invitationState(invitation) };
}

const INVITATION_STATE_ERRORS = {
  accepted: "This invitation has already been used. Sign in instead.",
  revoked: "This invitation was withdrawn. Ask for a new one.",
  expired: "This invitation has expired. Ask for a new one.",
} as const;

/**
 * Anyone holding an invitation link (the token is the credential). "inspect" loads it
 * whatever its state; "accept" refuses an expired, revoked or used one.
 */
export function invitationTokenProcedure(mode: "inspect" | "accept") {
  return publicProcedure.input(invitationTokenInput).use(async ({ ctx, input, next }) => {
    const invitation = await loadInvitationByToken(ctx.db, input.token);
    if (mode === "accept" && invitation.state !== "pending")
      throw new TRPCError({ code: "PRECONDITION_FAILED", message: INVITATION_STATE_ERRORS[invitation.state] });
    return next({ ctx: { ...ctx, invitation } });
  });
}

/** A signed-in user accepting a valid invitation addressed to their own email. */
export const invitationAcceptProcedure = protectedProcedure
  .input(invitationTokenInput)
  .use(async ({ ctx, input, next }) => {
    const invitation = await loadInvitationByToken(ctx.db, input.token);
    if (invitation.state !== "pending")
      throw new TRPCError({ code: "PRECONDITION_FAILED", message: INVITATION_STATE_ERRORS[invitation.state] });
    if (invitation.email.toLowerCase() !== ctx.user.email.toLowerCase())
      throw new TRPCError({
        code: "FORBIDDEN",
        message: `This invitation is for ${invitation.email}; you are signed in as ${ctx.user.email}.`,
      });
    return next({ ctx: { ...ctx, invitation } });
  });
