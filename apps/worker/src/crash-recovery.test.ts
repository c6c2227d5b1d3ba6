import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { UsageEvent } from "@switchyard/contracts";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { createQueue, createRedisConnection, type TypedQueue } from "@switchyard/jobs";
import { enqueueInBatches, TEST_REDIS_URL, usageEvent, waitFor } from "./testing/fixtures";
import { killWorkerProcesses, spawnWorkerProcess } from "./testing/worker-process";

const DB_NAME = "switchyard_test_worker_crash";
let databaseUrl: string;
let prisma: PrismaClient;
let redis: Redis;
let queue: TypedQueue<"usage">;

beforeAll(async () => {
  databaseUrl = await prepareTestDatabase(DB_NAME);
  prisma = createPrismaClient(databaseUrl);
  redis = createRedisConnection(TEST_REDIS_URL);
  queue = createQueue("usage", redis);
  await truncateAll(prisma);
  await redis.flushdb();
});
afterAll(async () => {
  killWorkerProcesses();
  await prisma.$executeRawUnsafe(`DROP TRIGGER IF EXISTS slow_logs ON request_logs`);
  await queue.close();
  await redis.quit();
  await prisma.$disconnect();
});

function spawnWorker() {
  return spawnWorkerProcess({
    PATH: process.env.PATH,
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    WORKER_BATCH_SIZE: "50",
    WORKER_BATCH_WAIT_MS: "50",
    WORKER_CONCURRENCY: "300",
    // A killed worker's jobs come back after 2 s instead of the production 30 s.
    WORKER_LOCK_DURATION_MS: "2000",
    WORKER_STALLED_INTERVAL_MS: "1000",
  });
}

/** Backends of the worker (not this test) inside a transaction right now. */
async function workerTransactionsOpen(): Promise<number> {
  const rows = await prisma.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM pg_stat_activity
     WHERE datname = ${DB_NAME} AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
       AND query ILIKE '%request_logs%'`;
  return Number(rows[0]?.n ?? 0);
}

describe("worker killed with SIGKILL in the middle of batches", () => {
  it("loses nothing and counts nothing twice once another worker takes over", async () => {
    const N = 4000;
    const events: UsageEvent[] = Array.from({ length: N }, (_, i) =>
      usageEvent(i, {
        occurredAt: new Date(Date.UTC(2026, 2, 1, 10 + (i % 3), i % 60)).toISOString(),
        virtualKeyId: `vk_${i % 7}`,
        usage: {
          inputTokens: 100 + (i % 97),
          outputTokens: 10 + (i % 31),
          cachedInputTokens: i % 5,
          cacheWriteTokens: 0,
          reasoningTokens: i % 3,
        },
        costNanoUsd: i % 50 === 0 ? null : String(1_000_003 + i * 7),
        requestedCostNanoUsd: String(2_000_011 + i * 13),
        cacheStatus: i % 9 === 0 ? "hit" : "miss",
        latencyMs: (i * 37) % 5000,
        ttftMs: i % 2 === 0 ? (i * 11) % 900 : null,
        endUser: i % 4 === 0 ? null : `user_${i % 11}`,
        tags: { project: `p${i % 3}`, ...(i % 5 === 0 ? { env: "prod" } : {}) },
        bodies:
          i % 10 === 0
            ? { request: `q${i}`, response: `a${i}`, redacted: false, truncated: false }
            : null,
      }),
    );
    const sum = (
      f: (e: UsageEvent) => bigint | number,
      pick: (e: UsageEvent) => boolean = () => true,
    ) => events.filter(pick).reduce((s, e) => s + BigInt(f(e)), 0n);
    const expected = {
      input: sum((e) => e.usage.inputTokens),
      output: sum((e) => e.usage.outputTokens),
      cached: sum((e) => e.usage.cachedInputTokens),
      cost: sum((e) => BigInt(e.costNanoUsd ?? 0)),
      requestedCost: sum((e) => BigInt(e.requestedCostNanoUsd ?? 0)),
      ttftCount: events.filter((e) => e.ttftMs !== null).length,
      users: events.filter((e) => e.endUser !== null).length,
      userCost: sum(
        (e) => BigInt(e.costNanoUsd ?? 0),
        (e) => e.endUser !== null,
      ),
      envProd: events.filter((e) => e.tags.env === "prod").length,
      bodies: events.filter((e) => e.bodies !== null).length,
    };
    // Batch jobs of 40 events, as proxies send them: a killed worker leaves some half committed.
    const jobs = await enqueueInBatches(queue, events, 40);

    // Every request-log insert takes 200 ms, so transactions are surely open at the kill.
    await prisma.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION slow_logs() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$ LANGUAGE plpgsql`);
    await prisma.$executeRawUnsafe(
      `CREATE TRIGGER slow_logs AFTER INSERT ON request_logs FOR EACH STATEMENT EXECUTE FUNCTION slow_logs()`,
    );

    const first = spawnWorker();
    await waitFor(() => first.output().includes("worker ready"), 30_000, "first worker to boot");
    await waitFor(async () => (await prisma.requestLog.count()) > 0, 30_000, "first commits");
    await waitFor(async () => (await workerTransactionsOpen()) > 0, 10_000, "a batch in flight");
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");

    const afterKill = await queue.getJobCounts("active", "completed");
    // Jobs were in the dead worker's hands (still locked by it) and work remained.
    expect(afterKill.active).toBeGreaterThan(0);
    expect(afterKill.completed).toBeLessThan(jobs);
    expect(await prisma.requestLog.count()).toBeLessThan(N);

    await prisma.$executeRawUnsafe(`DROP TRIGGER slow_logs ON request_logs`);
    const second = spawnWorker();
    await waitFor(
      async () => (await queue.getJobCounts("completed")).completed === jobs,
      90_000,
      "the second worker to finish every job, the dead worker's included",
    );
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(await queue.getJobCounts("failed", "active", "wait", "delayed")).toEqual({
      failed: 0,
      active: 0,
      wait: 0,
      delayed: 0,
    });

    // Request log: every event exactly once, with exact sums.
    const logs = await prisma.$queryRaw<
      { n: bigint; ids: bigint; input: bigint; output: bigint; cost: bigint; requested: bigint }[]
    >`SELECT count(*) AS n, count(DISTINCT "requestId") AS ids, sum("inputTokens")::bigint AS input,
        sum("outputTokens")::bigint AS output, sum("costNanoUsd")::bigint AS cost,
        sum("requestedCostNanoUsd")::bigint AS requested FROM request_logs`;
    expect(logs[0]).toEqual({
      n: BigInt(N),
      ids: BigInt(N),
      input: expected.input,
      output: expected.output,
      cost: expected.cost,
      requested: expected.requestedCost,
    });

    // Usage rollups: the same totals, and each row equals what the log says it should be.
    const rollups = await prisma.usageRollup.aggregate({
      _sum: {
        requests: true,
        inputTokens: true,
        outputTokens: true,
        cachedInputTokens: true,
        costNanoUsd: true,
        requestedCostNanoUsd: true,
        ttftCount: true,
        unpricedRequests: true,
      },
    });
    expect(rollups._sum).toEqual({
      requests: N,
      inputTokens: expected.input,
      outputTokens: expected.output,
      cachedInputTokens: expected.cached,
      costNanoUsd: expected.cost,
      requestedCostNanoUsd: expected.requestedCost,
      ttftCount: expected.ttftCount,
      unpricedRequests: N / 50,
    });
    const mismatched = await prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM usage_rollups r FULL JOIN (
        SELECT date_trunc('hour', "createdAt") AS bucket, "virtualKeyId", count(*)::int AS requests,
               coalesce(sum("costNanoUsd"), 0)::bigint AS cost
          FROM request_logs GROUP BY 1, 2) l
        ON l.bucket = r.bucket AND l."virtualKeyId" = r."virtualKeyId"
       WHERE r.requests IS DISTINCT FROM l.requests OR r."costNanoUsd" IS DISTINCT FROM l.cost`;
    expect(mismatched[0]?.n).toBe(0n);
    const histTotal = await prisma.$queryRaw<{ n: bigint }[]>`
      SELECT sum(x)::bigint AS n FROM usage_rollups, unnest("latencyHist") AS x`;
    expect(histTotal[0]?.n).toBe(BigInt(N));

    // Attribution rollups: every event once per dimension it carries.
    const byDimension = await prisma.attributionRollup.groupBy({
      by: ["dimension"],
      _sum: { requests: true, costNanoUsd: true },
      orderBy: { dimension: "asc" },
    });
    expect(byDimension.map((d) => [d.dimension, d._sum.requests, d._sum.costNanoUsd])).toEqual([
      [
        "tag:env",
        expected.envProd,
        sum(
          (e) => BigInt(e.costNanoUsd ?? 0),
          (e) => e.tags.env === "prod",
        ),
      ],
      ["tag:project", N, expected.cost],
      ["user", expected.users, expected.userCost],
    ]);
    expect(await prisma.requestBody.count()).toBe(expected.bodies);
  });
});
