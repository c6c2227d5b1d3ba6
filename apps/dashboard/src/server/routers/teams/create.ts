import { Prisma } from "@switchyard/db";
import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { orgProcedure } from "../../trpc";

export const teamSlug = z
  .string()
  .trim()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/,
    "Use 1–48 lowercase letters, digits and dashes (not at either end).",
  );
export const teamName = z.string().trim().min(1, "Give the team a name.").max(80);

export const teamsCreateOutput = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  orgId: z.string(),
});

/** A new team in the organisation (org owners and admins). */
export const teamsCreate = orgProcedure("admin")
  .input(z.object({ name: teamName, slug: teamSlug }))
  .output(teamsCreateOutput)
  .mutation(async ({ ctx, input }) => {
    try {
      return await ctx.db.team.create({
        data: { orgId: ctx.org.id, name: input.name, slug: input.slug },
        select: { id: true, slug: true, name: true, orgId: true },
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")
        throw new TRPCError({
          code: "CONFLICT",
          message: `A team with slug "${input.slug}" already exists.`,
        });
      throw error;
    }
  });
