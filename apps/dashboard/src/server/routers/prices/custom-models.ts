import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { modelPricingSchema } from "@switchyard/contracts";
import { Prisma } from "@switchyard/db";
import { orgProcedure } from "../../trpc";
import { upstreamModelSchema } from "./shared";

/** A model name clients send as `model` (same rule as the config file's model names). */
const modelNameSchema = z
  .string()
  .trim()
  .min(1, "Name the model.")
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "Letters, digits, '.', '_', ':', '/' or '-', starting with a letter or digit.");

/**
 * Adds a custom model for the organisation (org owners and admins): a name its keys can
 * send as `model`, served by one of its providers (or an instance-wide one) as
 * `upstreamModel`, with an optional price (else the registry's, else unpriced). Only the
 * organisation's own keys can call it; proxies reload at once.
 */
export const pricesCreateModel = orgProcedure("admin")
  .input(
    z.object({
      name: modelNameSchema,
      providerId: z.string().min(1),
      upstreamModel: upstreamModelSchema,
      pricing: modelPricingSchema.nullish(),
    }),
  )
  .output(z.object({ id: z.string(), name: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const provider = await ctx.db.providerCredential.findFirst({
      where: { id: input.providerId, OR: [{ orgId: null }, { orgId: ctx.org.id }] },
      select: { id: true },
    });
    if (!provider) throw new TRPCError({ code: "NOT_FOUND", message: "No such provider." });
    if (await ctx.db.route.findUnique({ where: { alias: input.name }, select: { id: true } }))
      throw new TRPCError({ code: "CONFLICT", message: `'${input.name}' is already a route alias.` });
    try {
      const created = await ctx.db.model.create({
        data: {
          orgId: ctx.org.id,
          name: input.name,
          providerId: provider.id,
          upstreamModel: input.upstreamModel,
          pricing: input.pricing ?? Prisma.DbNull,
        },
        select: { id: true, name: true },
      });
      await ctx.services.publishConfigChanged("models");
      return created;
    } catch (err) {
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002")
        throw new TRPCError({ code: "CONFLICT", message: `A model named '${input.name}' already exists.` });
      throw err;
    }
  });

/**
 * Removes one of the organisation's custom models (org owners and admins); config-file
 * models are not touched. Refused while one of the organisation's routes uses it (as a
 * target or semantic-cache embedding model), so no route is left pointing at nothing.
 */
export const pricesDeleteModel = orgProcedure("admin")
  .input(z.object({ modelId: z.string().min(1) }))
  .output(z.object({ id: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const model = await ctx.db.model.findFirst({ where: { id: input.modelId, orgId: ctx.org.id }, select: { name: true } });
    if (!model) throw new TRPCError({ code: "NOT_FOUND", message: "No such custom model." });
    const usedBy = await ctx.db.route.findMany({
      where: {
        orgId: ctx.org.id,
        OR: [
          { targets: { array_contains: [{ model: model.name }] } },
          { options: { path: ["cache", "semantic", "embeddingModel"], equals: model.name } },
        ],
      },
      select: { alias: true },
      orderBy: { alias: "asc" },
    });
    if (usedBy.length > 0)
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: `The route${usedBy.length > 1 ? "s" : ""} ${usedBy.map((r) => r.alias).join(", ")} use${usedBy.length > 1 ? "" : "s"} '${model.name}'; change ${usedBy.length > 1 ? "them" : "it"} first.`,
      });
    const { count } = await ctx.db.model.deleteMany({ where: { id: input.modelId, orgId: ctx.org.id } });
    if (count === 0) throw new TRPCError({ code: "NOT_FOUND", message: "No such custom model." });
    await ctx.services.publishConfigChanged("models");
    return { id: input.modelId };
  });
