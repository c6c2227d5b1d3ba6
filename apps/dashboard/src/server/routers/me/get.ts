import { z } from "zod";
import { protectedProcedure } from "../../trpc";

export const meOutput = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  memberships: z.array(
    z.object({
      orgId: z.string(),
      orgName: z.string(),
      orgSlug: z.string(),
      teamId: z.string().nullable(),
      teamName: z.string().nullable(),
      role: z.string(),
    }),
  ),
});

/** The signed-in user and where they belong. */
export const meGet = protectedProcedure.output(meOutput).query(async ({ ctx }) => {
  const memberships = await ctx.db.membership.findMany({
    where: { userId: ctx.user.id },
    select: {
      orgId: true,
      teamId: true,
      role: true,
      org: { select: { name: true, slug: true } },
      team: { select: { name: true } },
    },
    orderBy: [{ createdAt: "asc" }],
  });
  return {
    id: ctx.user.id,
    email: ctx.user.email,
    name: ctx.user.name,
    memberships: memberships.map((m) => ({
      orgId: m.orgId,
      orgName: m.org.name,
      orgSlug: m.org.slug,
      teamId: m.teamId,
      teamName: m.team?.name ?? null,
      role: m.role,
    })),
  };
});
