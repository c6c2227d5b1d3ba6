import type { CommandContext, CommandResult } from "../context";
import { CliError } from "../errors";
import { checkSlug } from "../lookup";

/** `switchyard orgs create <slug> [--name]` */
export async function createOrgCommand(
  ctx: CommandContext,
  slug: string,
  name?: string,
): Promise<CommandResult> {
  checkSlug(slug, "organization");
  if (await ctx.prisma.organization.findUnique({ where: { slug } }))
    throw new CliError(`organization "${slug}" already exists`);
  const org = await ctx.prisma.organization.create({ data: { slug, name: name ?? slug } });
  return {
    json: { org: { id: org.id, slug: org.slug, name: org.name } },
    text: `Created organization ${org.slug} ("${org.name}", id ${org.id}).`,
  };
}
