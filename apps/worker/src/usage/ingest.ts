import { Prisma, type PrismaClient } from "@switchyard/db";
import type { UsageEvent } from "@switchyard/contracts";

const HOUR_MS = 3_600_000;

/** The hour (UTC) an event is counted in: date_trunc('hour', occurredAt). */
export function hourBucket(occurredAt: string | Date): Date {
  const ms = new Date(occurredAt).getTime();
  return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS);
}

/** One hourly rollup increment, keyed by its dimensions (usage_rollups_dims_key). */
export interface RollupDelta {
  bucket: Date;
  orgId: string;
  teamId: string;
  virtualKeyId: string;
  model: string;
  provider: string;
  requests: number;
  errors: number;
  cacheHits: number;
  unpricedRequests: number;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedInputTokens: bigint;
  cacheWriteTokens: bigint;
  reasoningTokens: bigint;
  costNanoUsd: bigint;
  latencyMsSum: bigint;
}

/**
 * An event counts as unpriced when it has no cost AND it succeeded: a failed request
 * that reports no cost billed nothing we know of, and flagging it would make the
 * "unpriced model" badge fire on every upstream outage instead of on missing prices.
 */
export function isUnpriced(e: UsageEvent): boolean {
  return e.costNanoUsd === null && e.status < 400;
}

/** Sums events into one delta per rollup row, sorted by key (stable lock order between workers). */
export function aggregateRollups(events: readonly UsageEvent[]): RollupDelta[] {
  const byKey = new Map<string, RollupDelta>();
  for (const e of events) {
    const bucket = hourBucket(e.occurredAt);
    const model = e.servedModel ?? e.requestedModel;
    const provider = e.provider ?? "";
    const key = JSON.stringify([
      bucket.getTime(),
      e.orgId,
      e.teamId,
      e.virtualKeyId,
      model,
      provider,
    ]);
    let d = byKey.get(key);
    if (!d) {
      d = {
        bucket,
        orgId: e.orgId,
        teamId: e.teamId,
        virtualKeyId: e.virtualKeyId,
        model,
        provider,
        requests: 0,
        errors: 0,
        cacheHits: 0,
        unpricedRequests: 0,
        inputTokens: 0n,
        outputTokens: 0n,
        cachedInputTokens: 0n,
        cacheWriteTokens: 0n,
        reasoningTokens: 0n,
        costNanoUsd: 0n,
        latencyMsSum: 0n,
      };
      byKey.set(key, d);
    }
    d.requests += 1;
    if (e.status >= 400) d.errors += 1;
    if (e.cacheStatus === "hit" || e.cacheStatus === "semantic-hit") d.cacheHits += 1;
    if (isUnpriced(e)) d.unpricedRequests += 1;
    d.inputTokens += BigInt(e.usage.inputTokens);
    d.outputTokens += BigInt(e.usage.outputTokens);
    d.cachedInputTokens += BigInt(e.usage.cachedInputTokens);
    d.cacheWriteTokens += BigInt(e.usage.cacheWriteTokens);
    d.reasoningTokens += BigInt(e.usage.reasoningTokens);
    // null (unpriced) adds nothing to the money; it is counted in unpricedRequests instead.
    d.costNanoUsd += e.costNanoUsd === null ? 0n : BigInt(e.costNanoUsd);
    d.latencyMsSum += BigInt(e.latencyMs);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
}

function toRequestLogRow(e: UsageEvent): Prisma.RequestLogCreateManyInput {
  return {
    requestId: e.requestId,
    createdAt: new Date(e.occurredAt),
    orgId: e.orgId,
    teamId: e.teamId,
    virtualKeyId: e.virtualKeyId,
    endUser: e.endUser,
    tags: e.tags,
    endpoint: e.endpoint,
    requestedModel: e.requestedModel,
    servedModel: e.servedModel,
    provider: e.provider,
    inputTokens: e.usage.inputTokens,
    outputTokens: e.usage.outputTokens,
    cachedInputTokens: e.usage.cachedInputTokens,
    cacheWriteTokens: e.usage.cacheWriteTokens,
    reasoningTokens: e.usage.reasoningTokens,
    usageSource: e.usageSource,
    costNanoUsd: e.costNanoUsd === null ? null : BigInt(e.costNanoUsd),
    cacheStatus: e.cacheStatus,
    status: e.status,
    errorClass: e.errorClass,
    latencyMs: e.latencyMs,
    ttftMs: e.ttftMs,
    stream: e.stream,
    attempts: e.attempts,
  };
}

export interface BatchResult {
  /** Events written by this call (the rest were already in the log). */
  inserted: number;
  duplicates: number;
}

/**
 * Writes a batch of usage events in ONE transaction: the request-log rows (skipping
 * request ids already present), then rollup increments and VirtualKey.lastUsedAt for
 * exactly the rows this transaction inserted. Replaying any event is therefore a
 * no-op, which is what makes BullMQ's at-least-once delivery safe.
 */
export async function writeUsageBatch(
  prisma: PrismaClient,
  events: readonly UsageEvent[],
): Promise<BatchResult> {
  if (events.length === 0) return { inserted: 0, duplicates: 0 };
  // Sorted by request id so concurrent workers take row locks in the same order.
  const sorted = [...events].sort((a, b) =>
    a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0,
  );
  const byId = new Map(sorted.map((e) => [e.requestId, e]));

  return prisma.$transaction(
    async (tx) => {
      const rows = await tx.requestLog.createManyAndReturn({
        data: [...byId.values()].map(toRequestLogRow),
        skipDuplicates: true,
        select: { requestId: true },
      });
      const inserted = rows
        .map((r) => byId.get(r.requestId))
        .filter((e): e is UsageEvent => e !== undefined);
      if (inserted.length > 0) {
        await upsertRollups(tx, aggregateRollups(inserted));
        await touchVirtualKeys(tx, inserted);
      }
      return { inserted: inserted.length, duplicates: events.length - inserted.length };
    },
    { timeout: 30_000, maxWait: 10_000 },
  );
}

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

async function upsertRollups(tx: Tx, deltas: RollupDelta[]): Promise<void> {
  const values = deltas.map(
    (
      d,
    ) => Prisma.sql`(${d.bucket}::timestamptz, ${d.orgId}, ${d.teamId}, ${d.virtualKeyId}, ${d.model}, ${d.provider},
      ${d.requests}::int, ${d.errors}::int, ${d.cacheHits}::int, ${d.unpricedRequests}::int,
      ${d.inputTokens}::bigint, ${d.outputTokens}::bigint, ${d.cachedInputTokens}::bigint, ${d.cacheWriteTokens}::bigint,
      ${d.reasoningTokens}::bigint, ${d.costNanoUsd}::bigint, ${d.latencyMsSum}::bigint)`,
  );
  await tx.$executeRaw`
    INSERT INTO "usage_rollups" ("bucket", "orgId", "teamId", "virtualKeyId", "model", "provider",
      "requests", "errors", "cacheHits", "unpricedRequests",
      "inputTokens", "outputTokens", "cachedInputTokens", "cacheWriteTokens", "reasoningTokens",
      "costNanoUsd", "latencyMsSum")
    VALUES ${Prisma.join(values)}
    ON CONFLICT ("bucket", "orgId", "teamId", "virtualKeyId", "model", "provider") DO UPDATE SET
      "requests" = "usage_rollups"."requests" + EXCLUDED."requests",
      "errors" = "usage_rollups"."errors" + EXCLUDED."errors",
      "cacheHits" = "usage_rollups"."cacheHits" + EXCLUDED."cacheHits",
      "unpricedRequests" = "usage_rollups"."unpricedRequests" + EXCLUDED."unpricedRequests",
      "inputTokens" = "usage_rollups"."inputTokens" + EXCLUDED."inputTokens",
      "outputTokens" = "usage_rollups"."outputTokens" + EXCLUDED."outputTokens",
      "cachedInputTokens" = "usage_rollups"."cachedInputTokens" + EXCLUDED."cachedInputTokens",
      "cacheWriteTokens" = "usage_rollups"."cacheWriteTokens" + EXCLUDED."cacheWriteTokens",
      "reasoningTokens" = "usage_rollups"."reasoningTokens" + EXCLUDED."reasoningTokens",
      "costNanoUsd" = "usage_rollups"."costNanoUsd" + EXCLUDED."costNanoUsd",
      "latencyMsSum" = "usage_rollups"."latencyMsSum" + EXCLUDED."latencyMsSum"`;
}

async function touchVirtualKeys(tx: Tx, events: readonly UsageEvent[]): Promise<void> {
  const latest = new Map<string, Date>();
  for (const e of events) {
    const t = new Date(e.occurredAt);
    const prev = latest.get(e.virtualKeyId);
    if (!prev || t > prev) latest.set(e.virtualKeyId, t);
  }
  const values = [...latest.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, t]) => Prisma.sql`(${id}, ${t}::timestamptz)`);
  // GREATEST ignores NULL, so a key that was never used simply takes the new time.
  await tx.$executeRaw`
    UPDATE "virtual_keys" AS k SET "lastUsedAt" = GREATEST(k."lastUsedAt", v.t)
    FROM (VALUES ${Prisma.join(values)}) AS v(id, t)
    WHERE k."id" = v.id`;
}
