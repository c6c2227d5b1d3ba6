import type { Prisma, PrismaClient } from "@switchyard/db";
import { CliError } from "./errors";

type Db = PrismaClient | Prisma.TransactionClient;

export async function findOrg(
  db: Db,
  slug: string,
): Promise<{ id: string; slug: string; name: string }> {
  const org = await db.organization.findUnique({ where: { slug } });
  if (!org)
    throw new CliError(
      `organization "${slug}" not found (create it with: switchyard orgs create ${slug})`,
    );
  return org;
}

/** A team by slug; `orgSlug` is needed only when several organisations have a team of that slug. */
export async function findTeam(
  db: Db,
  teamSlug: string,
  orgSlug?: string,
): Promise<{ id: string; slug: string; orgId: string; org: { slug: string } }> {
  if (orgSlug !== undefined) {
    const org = await findOrg(db, orgSlug);
    const team = await db.team.findUnique({
      where: { orgId_slug: { orgId: org.id, slug: teamSlug } },
      include: { org: { select: { slug: true } } },
    });
    if (!team) throw new CliError(`team "${teamSlug}" not found in organization "${orgSlug}"`);
    return team;
  }
  const teams = await db.team.findMany({
    where: { slug: teamSlug },
    include: { org: { select: { slug: true } } },
    take: 2,
  });
  if (teams.length === 0) throw new CliError(`team "${teamSlug}" not found`);
  if (teams.length > 1)
    throw new CliError(
      `several organizations have a team "${teamSlug}": say which with --org <slug>`,
    );
  return teams[0]!;
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
export function checkSlug(slug: string, what: string): string {
  if (!SLUG.test(slug))
    throw new CliError(
      `invalid ${what} slug "${slug}": use lowercase letters, digits and '-' (max 63)`,
    );
  return slug;
}
