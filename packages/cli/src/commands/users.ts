import { randomBytes } from "node:crypto";
import { hashPassword } from "better-auth/crypto";
import { Role, type Prisma, type PrismaClient } from "@switchyard/db";
import type { CommandContext, CommandResult } from "../context";
import { CliError } from "../errors";
import { findOrg, findTeam } from "../lookup";

export const roleNames = ["org_owner", "org_admin", "team_admin", "member", "viewer"] as const;
export type RoleName = (typeof roleNames)[number];
const roleByName: Record<RoleName, Role> = {
  org_owner: Role.ORG_OWNER,
  org_admin: Role.ORG_ADMIN,
  team_admin: Role.TEAM_ADMIN,
  member: Role.MEMBER,
  viewer: Role.VIEWER,
};

export function parseRole(name: string): Role {
  if (!(roleNames as readonly string[]).includes(name))
    throw new CliError(`invalid --role "${name}": use one of ${roleNames.join(", ")}`);
  return roleByName[name as RoleName];
}

// better-auth's default minimum, so the dashboard accepts what we store.
const MIN_PASSWORD = 8;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** A password people can type: 24 url-safe characters (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString("base64url");
}

type Db = PrismaClient | Prisma.TransactionClient;

/**
 * Stores an email+password sign-in the way better-auth's credential provider reads it:
 * an Account with providerId "credential", accountId = user id, and its scrypt hash.
 * Creates the account or replaces its password.
 */
export async function setCredentialPassword(
  db: Db,
  userId: string,
  password: string,
): Promise<void> {
  const hash = await hashPassword(password);
  const existing = await db.account.findFirst({ where: { userId, providerId: "credential" } });
  if (existing) await db.account.update({ where: { id: existing.id }, data: { password: hash } });
  else
    await db.account.create({
      data: { userId, accountId: userId, providerId: "credential", password: hash },
    });
}

export interface CreateUserArgs {
  email: string;
  org: string;
  team?: string;
  role?: string;
  password?: string;
  name?: string;
}

/** `switchyard users create <email> --org <slug> [--team <slug>] [--role …] [--password P] [--name N]` */
export async function createUserCommand(
  ctx: CommandContext,
  args: CreateUserArgs,
): Promise<CommandResult> {
  const email = args.email.trim().toLowerCase();
  if (!EMAIL.test(email)) throw new CliError(`invalid email "${args.email}"`);
  const role = parseRole(args.role ?? "member");
  const orgWide = role === Role.ORG_OWNER || role === Role.ORG_ADMIN;
  if (orgWide && args.team !== undefined)
    throw new CliError(`--role ${args.role} is organization-wide; drop --team`);
  if (role === Role.TEAM_ADMIN && args.team === undefined)
    throw new CliError("--role team_admin needs --team <slug>");
  if (args.password !== undefined && args.password.length < MIN_PASSWORD)
    throw new CliError(`--password must be at least ${MIN_PASSWORD} characters`);

  const org = await findOrg(ctx.prisma, args.org);
  const team = args.team !== undefined ? await findTeam(ctx.prisma, args.team, args.org) : null;
  if (await ctx.prisma.user.findUnique({ where: { email } }))
    throw new CliError(`a user with email ${email} already exists`);

  const generated = args.password === undefined;
  const password = args.password ?? generatePassword();
  const hash = await hashPassword(password);
  const user = await ctx.prisma.$transaction(async (tx) => {
    const u = await tx.user.create({
      data: { email, name: args.name ?? email.split("@")[0] ?? email, emailVerified: true },
    });
    await tx.account.create({
      data: { userId: u.id, accountId: u.id, providerId: "credential", password: hash },
    });
    await tx.membership.create({
      data: { userId: u.id, orgId: org.id, teamId: team?.id ?? null, role },
    });
    return u;
  });
  const roleName = args.role ?? "member";
  return {
    json: {
      user: { id: user.id, email: user.email, name: user.name },
      membership: { org: org.slug, team: team?.slug ?? null, role: roleName },
      // Only a generated password is echoed: the caller already knows one it chose.
      password: generated ? password : null,
    },
    text:
      `Created user ${user.email} (${roleName} of ${org.slug}${team ? `, team ${team.slug}` : ""}).` +
      (generated ? `\nPassword (shown once): ${password}` : ""),
  };
}
