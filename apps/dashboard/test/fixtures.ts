import { TRPCError } from "@trpc/server";
import { hashPassword } from "better-auth/crypto";
import { expect } from "vitest";
import type { PrismaClient, Role } from "@switchyard/db";
import { createCaller } from "../src/server/root";
import { publishOnRedis, type ServerServices } from "../src/server/services";
import { createContextForUser, type SessionUser } from "../src/server/trpc";

/** A dashboard user who can sign in with email + password, as `switchyard users create` makes them. */
export async function createUserWithPassword(
  prisma: PrismaClient,
  email: string,
  password: string,
  name = email.split("@")[0] ?? email,
) {
  const user = await prisma.user.create({ data: { email, name, emailVerified: true } });
  await prisma.account.create({
    data: {
      userId: user.id,
      accountId: user.id,
      providerId: "credential",
      password: await hashPassword(password),
    },
  });
  return user;
}

export async function addMembership(
  prisma: PrismaClient,
  userId: string,
  orgId: string,
  role: Role,
  teamId: string | null = null,
) {
  return prisma.membership.create({ data: { userId, orgId, role, teamId } });
}

/** A user with a password and one membership: the session user procedures see, and the membership id. */
export async function createMember(
  prisma: PrismaClient,
  m: { email: string; orgId: string; role: Role; teamId?: string | null; name?: string },
): Promise<{ user: SessionUser; membershipId: string }> {
  const u = await createUserWithPassword(prisma, m.email, "a long enough password", m.name);
  const membership = await addMembership(prisma, u.id, m.orgId, m.role, m.teamId ?? null);
  return { user: { id: u.id, email: u.email, name: u.name }, membershipId: membership.id };
}

/** A tRPC caller acting as `user` (null: signed out). */
export async function callerFor(
  prisma: PrismaClient,
  user: SessionUser | null,
  services: ServerServices,
) {
  return createCaller(await createContextForUser(prisma, user, services));
}

/** Test services whose config-changed notices go out on Redis and are kept in `published`. */
export function recordingServices(
  redisUrl: string,
  published: string[],
  encryptionKeyByte: number,
): ServerServices {
  return {
    encryptionKey: () => Buffer.alloc(32, encryptionKeyByte),
    secretEnv: () => ({}),
    publishConfigChanged: (kind) => {
      published.push(kind);
      return publishOnRedis(redisUrl, kind, () => undefined);
    },
  };
}

/** Awaits `p` and keeps its value in `outputs` (suites search them for secrets at the end). */
export function recorder(outputs: unknown[]) {
  return async <T>(p: Promise<T>): Promise<T> => {
    const v = await p;
    outputs.push(v);
    return v;
  };
}

/** Expects `promise` to fail with a TRPCError of `code`, and returns that error. */
export async function expectTrpcError(promise: Promise<unknown>, code: TRPCError["code"]) {
  const err: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCError);
  expect((err as TRPCError).code).toBe(code);
  return err as TRPCError;
}

let keySeq = 0;
export async function createKey(
  prisma: PrismaClient,
  team: { id: string; orgId: string },
  name: string,
  extra: { allowedModels?: string[]; rpmLimit?: number } = {},
) {
  keySeq += 1;
  return prisma.virtualKey.create({
    data: {
      orgId: team.orgId,
      teamId: team.id,
      name,
      keyHash: `${"f".repeat(56)}${String(keySeq).padStart(8, "0")}`,
      prefix: `sk-sy-k${String(keySeq).padStart(5, "0")}`,
      allowedModels: extra.allowedModels ?? [],
      rpmLimit: extra.rpmLimit ?? null,
    },
  });
}

export interface RollupSeed {
  bucket: Date;
  key: { id: string; teamId: string; orgId: string };
  model?: string;
  requests: number;
  errors?: number;
  unpricedRequests?: number;
  inputTokens?: bigint;
  outputTokens?: bigint;
  costNanoUsd: bigint;
}

export async function insertRollups(prisma: PrismaClient, rows: RollupSeed[]) {
  await prisma.usageRollup.createMany({
    data: rows.map((r) => ({
      bucket: r.bucket,
      orgId: r.key.orgId,
      teamId: r.key.teamId,
      virtualKeyId: r.key.id,
      model: r.model ?? "gpt-4o-mini",
      provider: "openai-main",
      requests: r.requests,
      errors: r.errors ?? 0,
      unpricedRequests: r.unpricedRequests ?? 0,
      inputTokens: r.inputTokens ?? 0n,
      outputTokens: r.outputTokens ?? 0n,
      costNanoUsd: r.costNanoUsd,
    })),
  });
}

let requestSeq = 0;
export async function insertRequestLog(
  prisma: PrismaClient,
  key: { id: string; teamId: string; orgId: string },
  row: {
    createdAt: Date;
    requestId?: string;
    requestedModel?: string;
    servedModel?: string;
    status?: number;
    costNanoUsd: bigint | null;
    inputTokens?: number;
    outputTokens?: number;
    stream?: boolean;
    ttftMs?: number | null;
  },
) {
  requestSeq += 1;
  return prisma.requestLog.create({
    data: {
      requestId: row.requestId ?? `req_${requestSeq}`,
      createdAt: row.createdAt,
      orgId: key.orgId,
      teamId: key.teamId,
      virtualKeyId: key.id,
      endpoint: "chat.completions",
      requestedModel: row.requestedModel ?? "default-chat",
      servedModel: row.servedModel ?? "gpt-4o-mini",
      provider: "openai-main",
      inputTokens: row.inputTokens ?? 10,
      outputTokens: row.outputTokens ?? 20,
      usageSource: "provider",
      costNanoUsd: row.costNanoUsd,
      cacheStatus: "miss",
      status: row.status ?? 200,
      latencyMs: 420,
      ttftMs: row.ttftMs ?? null,
      stream: row.stream ?? false,
    },
  });
}
