import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { Prisma, PrismaClient } from "@switchyard/db";

/** Same bounds as the proxy's x-switchyard-tags header, so a key's tags could be sent as one. */
export const MAX_TAGS = 32;
export const MAX_TAG_KEY = 64;
export const MAX_TAG_VALUE = 256;
/** Rotation grace: 0 (the old key stops at once) up to 7 days. */
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;

export const keyNameSchema = z.string().trim().min(1, "Give the key a name.").max(100);

const limitSchema = z.number().int().min(1).max(2_147_483_647).nullable();

export const tagsSchema = z.record(z.string(), z.string()).superRefine((tags, ctx) => {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS)
    ctx.addIssue({ code: "custom", message: `At most ${MAX_TAGS} tags.` });
  for (const [k, v] of entries) {
    if (k.trim() === "" || k !== k.trim() || k.length > MAX_TAG_KEY || /[,=]/.test(k))
      ctx.addIssue({
        code: "custom",
        message: `Tag name "${k.slice(0, 80)}" must be 1-${MAX_TAG_KEY} characters, without spaces around it, "," or "=".`,
      });
    if (v.length > MAX_TAG_VALUE || v.includes(","))
      ctx.addIssue({
        code: "custom",
        message: `Tag "${k.slice(0, 80)}": the value must be at most ${MAX_TAG_VALUE} characters, without ",".`,
      });
  }
});

export const allowedModelsSchema = z
  .array(z.string().trim().min(1).max(200))
  .max(200)
  .transform((models) => [...new Set(models)]);

/** Fields a key's owner sets at creation and may edit later. */
export const keySettingsSchema = z.object({
  name: keyNameSchema,
  /** Public model names or route aliases; empty = every model. */
  allowedModels: allowedModelsSchema.default([]),
  rpmLimit: limitSchema.default(null),
  tpmLimit: limitSchema.default(null),
  tags: tagsSchema.default({}),
  expiresAt: z.date().nullable().default(null),
});

export function assertFuture(expiresAt: Date | null | undefined, now = new Date()): void {
  if (expiresAt && expiresAt.getTime() <= now.getTime())
    throw new TRPCError({ code: "BAD_REQUEST", message: "The expiry must be in the future." });
}

type Db = PrismaClient | Prisma.TransactionClient;

/** Public model names and route aliases a key of this organisation may name (instance-wide ones included). */
export async function modelNamesFor(
  db: Db,
  orgId: string,
): Promise<{ models: string[]; routes: string[] }> {
  const [models, routes] = await Promise.all([
    db.model.findMany({
      where: { OR: [{ orgId: null }, { orgId }] },
      select: { name: true },
      orderBy: { name: "asc" },
    }),
    db.route.findMany({
      where: { OR: [{ orgId: null }, { orgId }] },
      select: { alias: true },
      orderBy: { alias: "asc" },
    }),
  ]);
  return { models: models.map((m) => m.name), routes: routes.map((r) => r.alias) };
}

/** Refuses names that are neither a model nor a route the proxy knows for this organisation. */
export async function assertKnownModels(
  db: Db,
  orgId: string,
  names: readonly string[],
): Promise<void> {
  if (names.length === 0) return;
  const { models, routes } = await modelNamesFor(db, orgId);
  const known = new Set([...models, ...routes]);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0)
    throw new TRPCError({
      code: "BAD_REQUEST",
      message: `Unknown model or route: ${unknown.join(", ")}.`,
    });
}

/** Everything about a key that may leave the server. Never the hash. */
export const publicKeySelect = {
  id: true,
  name: true,
  prefix: true,
  teamId: true,
  userId: true,
  allowedModels: true,
  rpmLimit: true,
  tpmLimit: true,
  tags: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  rotatedAt: true,
  previousKeyExpiresAt: true,
} as const satisfies Prisma.VirtualKeySelect;

/** Stored tags are a JSON object of strings; anything else (hand-edited rows) is dropped. */
export function stringTags(json: Prisma.JsonValue): Record<string, string> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(json)) if (typeof v === "string") out[k] = v;
  return out;
}

export const createdKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  teamId: z.string(),
  userId: z.string().nullable(),
  /** The clear key: returned by this response only, never stored, never shown again. */
  key: z.string(),
});
