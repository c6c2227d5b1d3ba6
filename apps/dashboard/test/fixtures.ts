import { hashPassword } from "better-auth/crypto";
import type { PrismaClient, Role } from "@switchyard/db";

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
  await prisma.membership.create({ data: { userId, orgId, role, teamId } });
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
