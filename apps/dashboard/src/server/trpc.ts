import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { z } from "zod";
import type { PrismaClient, Role } from "@switchyard/db";
import { defaultServices, type ServerServices } from "./services";
import { assertOrgAdmin, assertTeamAccess, isOrgMember, isOrgOwner, type TeamAccess } from "./authz";

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
 * of an organisation where they are owner or admin org-wide.
 */
export async function resolveVisibleTeams(
  db: PrismaClient,
  memberships: readonly MembershipInfo[],
): Promise<VisibleTeam[]> {
  const orgWide = memberships
    .filter((m) => m.teamId === null && ORG_WIDE_ROLES.includes(m.role))
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

/**
 * Procedure bases for everything that reads or changes one team's things. Each loads
 * the object named by its input, decides from the memberships (authz.ts) and hands
 * the loaded object to the handler, so no handler decides access on its own.
 */
export function teamProcedure(needed: TeamAccess) {
  return protectedProcedure
    .input(z.object({ teamId: z.string().min(1) }))
    .use(async ({ ctx, input, next }) => {
      const team = await ctx.db.team.findUnique({
        where: { id: input.teamId },
        select: { id: true, orgId: true, slug: true, name: true },
      });
      if (!team) throw new TRPCError({ code: "NOT_FOUND", message: "No such team." });
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
        select: { id: true, slug: true, name: true, timeZone: true },
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
