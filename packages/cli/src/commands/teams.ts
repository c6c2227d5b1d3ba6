import type { CommandContext, CommandResult } from "../context";
import { CliError } from "../errors";
import { checkSlug, findOrg } from "../lookup";

/** `switchyard teams create <slug> --org <slug> [--name]` */
export async function createTeamCommand(
  ctx: CommandContext,
  slug: string,
  orgSlug: string,
  name?: string,
): Promise<CommandResult> {
  checkSlug(slug, "team");
  const org = await findOrg(ctx.prisma, orgSlug);
  if (await ctx.prisma.team.findUnique({ where: { orgId_slug: { orgId: org.id, slug } } }))
    throw new CliError(`team "${slug}" already exists in organization "${orgSlug}"`);
  const team = await ctx.prisma.team.create({ data: { orgId: org.id, slug, name: name ?? slug } });
  return {
    json: { team: { id: team.id, slug: team.slug, name: team.name, org: org.slug } },
    text: `Created team ${team.slug} in ${org.slug} ("${team.name}", id ${team.id}).`,
  };
}
