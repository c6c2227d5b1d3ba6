import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { ConfigSource, Prisma, type PrismaClient } from "@switchyard/db";

/**
 * What the dashboard shows of a key. Built from an explicit select: the ciphertext
 * and the clear key never leave the server, only the last 4 characters do.
 */
export const providerKeyView = z.object({
  id: z.string(),
  label: z.string(),
  /** "encrypted": stored encrypted; "env": read from the proxy's environment. */
  storage: z.enum(["encrypted", "env"]),
  /** The variable name of an env reference (a name, not a secret). */
  envName: z.string().nullable(),
  last4: z.string().nullable(),
  enabled: z.boolean(),
  source: z.enum(ConfigSource),
  createdAt: z.date(),
  rotatedAt: z.date().nullable(),
  disabledAt: z.date().nullable(),
});
export type ProviderKeyView = z.infer<typeof providerKeyView>;

export const providerView = z.object({
  id: z.string(),
  slug: z.string(),
  type: z.string(),
  baseUrl: z.string().nullable(),
  apiVersion: z.string().nullable(),
  source: z.enum(ConfigSource),
  /** null: instance-wide (switchyard.yaml). */
  orgId: z.string().nullable(),
  createdAt: z.date(),
  /** Whether this user may change it: made in the dashboard, in an org they administer. */
  editable: z.boolean(),
  keys: z.array(providerKeyView),
});
export type ProviderView = z.infer<typeof providerView>;

export const keySelect = {
  id: true,
  label: true,
  apiKeyRef: true,
  last4: true,
  source: true,
  createdAt: true,
  rotatedAt: true,
  disabledAt: true,
} satisfies Prisma.ProviderKeySelect;

export const providerSelect = {
  id: true,
  slug: true,
  type: true,
  baseUrl: true,
  apiVersion: true,
  source: true,
  orgId: true,
  createdAt: true,
  keys: { select: keySelect, orderBy: [{ label: "asc" }, { id: "asc" }] },
} satisfies Prisma.ProviderCredentialSelect;

type KeyRow = Prisma.ProviderKeyGetPayload<{ select: typeof keySelect }>;
type ProviderRow = Prisma.ProviderCredentialGetPayload<{ select: typeof providerSelect }>;

export function toKeyView(k: KeyRow): ProviderKeyView {
  return {
    id: k.id,
    label: k.label,
    storage: k.apiKeyRef ? "env" : "encrypted",
    envName: k.apiKeyRef?.startsWith("env:") ? k.apiKeyRef.slice(4) : null,
    last4: k.last4,
    enabled: k.disabledAt === null,
    source: k.source,
    createdAt: k.createdAt,
    rotatedAt: k.rotatedAt,
    disabledAt: k.disabledAt,
  };
}

export function isEditable(p: { source: ConfigSource; orgId: string | null }, adminOrgIds: readonly string[]): boolean {
  return p.source === ConfigSource.DASHBOARD && p.orgId !== null && adminOrgIds.includes(p.orgId);
}

export function toProviderView(p: ProviderRow, adminOrgIds: readonly string[]): ProviderView {
  return { ...p, editable: isEditable(p, adminOrgIds), keys: p.keys.map(toKeyView) };
}

/** Providers a user may see: instance-wide ones and those of their organisations. */
export function visibleProvidersWhere(orgIds: readonly string[]): Prisma.ProviderCredentialWhereInput {
  return { OR: [{ orgId: null }, { orgId: { in: [...orgIds] } }] };
}

const FILE_OWNED =
  "belongs to switchyard.yaml: change it in the file and run `switchyard config apply`.";

/**
 * A provider the admin may change. Invisible ones are NOT_FOUND (their existence is
 * not revealed); config-file ones and those of an org they do not administer are refused.
 */
export async function loadManagedProvider(
  db: PrismaClient,
  providerId: string,
  orgIds: readonly string[],
  adminOrgIds: readonly string[],
) {
  const p = await db.providerCredential.findFirst({
    where: { id: providerId, ...visibleProvidersWhere(orgIds) },
    select: { id: true, slug: true, source: true, orgId: true },
  });
  if (!p) throw new TRPCError({ code: "NOT_FOUND", message: "No such provider." });
  if (p.source !== ConfigSource.DASHBOARD)
    throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Provider "${p.slug}" ${FILE_OWNED}` });
  if (!isEditable(p, adminOrgIds))
    throw new TRPCError({ code: "FORBIDDEN", message: `Provider "${p.slug}" is not one of your organisation's.` });
  return p;
}

/** A key the admin may change: made in the dashboard, on a provider they manage. */
export async function loadManagedKey(
  db: PrismaClient,
  keyId: string,
  orgIds: readonly string[],
  adminOrgIds: readonly string[],
) {
  const k = await db.providerKey.findUnique({
    where: { id: keyId },
    select: { id: true, label: true, source: true, providerId: true },
  });
  if (!k) throw new TRPCError({ code: "NOT_FOUND", message: "No such key." });
  await loadManagedProvider(db, k.providerId, orgIds, adminOrgIds);
  if (k.source !== ConfigSource.DASHBOARD)
    throw new TRPCError({ code: "PRECONDITION_FAILED", message: `Key "${k.label}" ${FILE_OWNED}` });
  return k;
}

export function orgIdsOf(memberships: readonly { orgId: string }[]): string[] {
  return [...new Set(memberships.map((m) => m.orgId))];
}

/** A clear key as pasted: surrounding whitespace (a trailing newline) is not part of it. */
export const clearKeyInput = z
  .string()
  .trim()
  .min(1, "Paste the key.")
  .max(4096)
  .refine((k) => !k.startsWith("env:"), {
    message: "env: references belong in switchyard.yaml; paste the key itself here.",
  });

/** Every write answers with whether proxies were told to reload. */
export const writeResult = z.object({ published: z.boolean() });

export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002";
}
