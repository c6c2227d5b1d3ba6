import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  createQueue,
  createRedisConnection,
  enqueueUsage,
  enqueueUsageBulk,
  type TypedQueue,
} from "@switchyard/jobs";
import type { Redis } from "ioredis";
import { startUsageConsumer, type UsageConsumer } from "./consumer";
import { enqueueInBatches, TEST_REDIS_URL, usageEvent, waitFor } from "../testing/fixtures";

let prisma: PrismaClient;
let redis: Redis;
let queue: TypedQueue<"usage">;
let consumer: UsageConsumer | undefined;

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_worker"));
  redis = createRedisConnection(TEST_REDIS_URL);
  queue = createQueue("usage", redis);
});
afterAll(async () => {
  await queue.close();
  await redis.quit();
  await prisma.$disconnect();
});
beforeEach(async () => {
  await truncateAll(prisma);
  await redis.flushdb();
});
afterEach(async () => {
  await consumer?.close();
  consumer = undefined;
  await prisma.$executeRawUnsafe(`DROP TRIGGER IF EXISTS fail_rollups ON usage_rollups`);
});

function start(batchSize = 50, concurrency = 200): UsageConsumer {
  consumer = startUsageConsumer({
    prisma,
    connection: createRedisConnection(TEST_REDIS_URL),
    batchSize,
    batchWaitMs: 50,
    concurrency,
  });
  return consumer;
}

async function totals(): Promise<{ logs: number; requests: number; cost: bigint }> {
  const logs = await prisma.requestLog.count();
  const agg = await prisma.usageRollup.aggregate({ _sum: { requests: true, costNanoUsd: true } });
  return { logs, requests: agg._sum.requests ?? 0, cost: agg._sum.costNanoUsd ?? 0n };
}

describe("usage queue consumer", () => {
  it("commits queued events in batches as rows and rollups", async () => {
    const events = Array.from({ length: 300 }, (_, i) =>
      usageEvent(i, { virtualKeyId: `vk_${i % 3}` }),
    );
    const jobs = await enqueueInBatches(queue, events, 25);
    expect(await queue.getJobCounts("wait")).toEqual({ wait: 12 });
    start(40);
    await waitFor(
      async () => (await queue.getJobCounts("completed")).completed === jobs,
      30_000,
      "12 completed jobs",
    );
    // Batched: more than one transaction, far fewer than one per event.
    const [{ n }] = await prisma.$queryRaw<
      [{ n: bigint }]
    >`SELECT count(DISTINCT "ingestedAt") AS n FROM request_logs`;
    expect(n).toBeGreaterThan(1n);
    expect(n).toBeLessThan(60n);
    expect(await totals()).toEqual({ logs: 300, requests: 300, cost: 300n * 27000n });
    expect(await prisma.usageRollup.count()).toBe(3);
  });

  it("writes a batch job's events exactly once, however often the batch arrives", async () => {
    // 120 events: three batcher batches, and more than the 50 events the gate lets in
    // at once (a big job still goes through, alone).
    const events = Array.from({ length: 120 }, (_, i) =>
      usageEvent(i, { virtualKeyId: `vk_${i % 4}`, costNanoUsd: String(1000 + i) }),
    );
    const cost = BigInt(120 * 1000 + (120 * 119) / 2);
    const costOfKey = (k: number) =>
      events
        .filter((e) => e.virtualKeyId === `vk_${k}`)
        .reduce((s, e) => s + BigInt(e.costNanoUsd!), 0n);
    await enqueueUsageBulk(queue, events);
    expect(await queue.getJobCounts("wait")).toEqual({ wait: 1 });
    start(40, 50);
    await waitFor(
      async () => (await queue.getJobCounts("completed")).completed === 1,
      20_000,
      "the batch job",
    );
    expect(await totals()).toEqual({ logs: 120, requests: 120, cost });
    const rollups = await prisma.usageRollup.findMany({ orderBy: { virtualKeyId: "asc" } });
    expect(rollups.map((r) => [r.virtualKeyId, r.requests, r.costNanoUsd])).toEqual(
      [0, 1, 2, 3].map((k) => [`vk_${k}`, 30, costOfKey(k)]),
    );

    // The same batch again under other job ids (a replay sliced differently), whole and
    // overlapping new events: only the new events count.
    await queue.add("usage-batch", { events }, { jobId: "replayed-batch" });
    await queue.add(
      "usage-batch",
      {
        events: [...events.slice(100), usageEvent(500, { virtualKeyId: "vk_0", costNanoUsd: "7" })],
      },
      { jobId: "overlapping-batch" },
    );
    await waitFor(
      async () => (await queue.getJobCounts("completed")).completed === 3,
      20_000,
      "the replayed batches",
    );
    expect(await totals()).toEqual({ logs: 121, requests: 121, cost: cost + 7n });
    const vk0 = await prisma.usageRollup.findFirst({ where: { virtualKeyId: "vk_0" } });
    expect([vk0?.requests, vk0?.costNanoUsd]).toEqual([31, costOfKey(0) + 7n]);
  });

  it("counts an event once when it arrives in two jobs", async () => {
    const c = start(10);
    const e = usageEvent(1);
    await enqueueUsage(queue, e);
    await enqueueUsage(queue, e); // same job id: BullMQ keeps one job
    await waitFor(
      async () => (await queue.getJobCounts("completed")).completed === 1,
      10_000,
      "first job",
    );
    // A later replay (e.g. the proxy's spool) under another job id, after the first is done.
    await queue.add("usage", e, { jobId: "replay-1" });
    await queue.add("usage", usageEvent(2), { jobId: "other" });
    await waitFor(
      async () => (await queue.getJobCounts("completed")).completed === 3,
      10_000,
      "replay jobs",
    );
    expect(c.batcher.waiting).toBe(0);
    expect(await totals()).toEqual({ logs: 2, requests: 2, cost: 54000n });
  });

  it("fails an invalid payload for good, without retries", async () => {
    start();
    const job = await queue.add("usage", { requestId: "bad" } as never, { jobId: "bad" });
    const empty = await queue.add("usage-batch", { events: [] }, { jobId: "empty" });
    await waitFor(
      async () => (await queue.getJobCounts("failed")).failed === 2,
      10_000,
      "failed jobs",
    );
    for (const id of [job.id!, empty.id!]) {
      const failed = await queue.getJob(id);
      expect(failed?.attemptsMade).toBe(1);
      expect(failed?.failedReason).toMatch(/invalid usage event/);
    }
    expect(await totals()).toEqual({ logs: 0, requests: 0, cost: 0n });
  });

  it("commits the valid events of a batch with a malformed one, then fails it for good naming the bad one", async () => {
    start(20);
    const events: unknown[] = Array.from({ length: 8 }, (_, i) => usageEvent(i));
    events[3] = { ...usageEvent(3), costNanoUsd: "1.5" };
    events[6] = { endpoint: "nowhere" }; // not even a request id
    await queue.add("usage-batch", { events } as never, { jobId: "half-bad" });
    await waitFor(
      async () => (await queue.getJobCounts("failed")).failed === 1,
      10_000,
      "the failed batch job",
    );
    const failed = await queue.getJob("half-bad");
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toMatch(/^2 of 8 usage events in job half-bad not stored/);
    expect(failed?.failedReason).toContain("req_000003, #6;");
    expect(failed?.failedReason).toMatch(/invalid usage event/);
    // The failed job keeps its whole payload: nothing is lost.
    expect((failed?.data as unknown as { events: unknown[] }).events).toEqual(events);
    expect(await totals()).toEqual({ logs: 6, requests: 6, cost: 6n * 27000n });
    const ids = await prisma.requestLog.findMany({
      select: { requestId: true },
      orderBy: { requestId: "asc" },
    });
    expect(ids.map((r) => r.requestId)).toEqual(
      [0, 1, 2, 4, 5, 7].map((i) => usageEvent(i).requestId),
    );
  });

  it("retries every event of a batch whose transaction failed, without double counting", async () => {
    // A real failure mid-transaction: the request-log rows are inserted, then the
    // rollup upsert raises while the flag row exists.
    await prisma.$executeRawUnsafe(`CREATE TABLE IF NOT EXISTS test_fail_flag (on_ boolean)`);
    await prisma.$executeRawUnsafe(`DELETE FROM test_fail_flag`);
    await prisma.$executeRawUnsafe(`INSERT INTO test_fail_flag VALUES (true)`);
    await prisma.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION fail_rollups() RETURNS trigger AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM test_fail_flag) THEN RAISE EXCEPTION 'injected rollup failure'; END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await prisma.$executeRawUnsafe(
      `CREATE TRIGGER fail_rollups BEFORE INSERT ON usage_rollups FOR EACH ROW EXECUTE FUNCTION fail_rollups()`,
    );

    const events = Array.from({ length: 60 }, (_, i) => usageEvent(i));
    const jobs = await enqueueInBatches(queue, events, 10);
    const c = start(25);
    let failures = 0;
    c.worker.on("failed", () => failures++);
    await waitFor(() => failures >= jobs, 20_000, "first attempts to fail");
    expect(await prisma.requestLog.count()).toBe(0); // rolled back
    await prisma.$executeRawUnsafe(`DELETE FROM test_fail_flag`);
    await waitFor(
      async () => (await queue.getJobCounts("completed")).completed === jobs,
      30_000,
      "retries to complete",
    );
    expect(await totals()).toEqual({ logs: 60, requests: 60, cost: 60n * 27000n });
  });

  it("isolates an event the database rejects: its batch-mates commit, its job fails without retry", async () => {
    const c = start(20);
    const events = Array.from({ length: 10 }, (_, i) => usageEvent(i));
    // latencyMs beyond Postgres int4: valid JSON, rejected by the database (SQLSTATE 22003).
    events[4] = usageEvent(4, { latencyMs: 3_000_000_000 });
    await c.worker.pause();
    await enqueueUsageBulk(queue, events.slice(0, 6));
    await enqueueUsageBulk(queue, events.slice(6));
    await c.worker.resume();
    await waitFor(
      async () => {
        const n = await queue.getJobCounts("completed", "failed");
        return n.completed === 1 && n.failed === 1;
      },
      20_000,
      "1 completed + 1 failed job",
    );
    const [bad] = await queue.getJobs(["failed"]);
    expect(bad?.attemptsMade).toBe(1);
    expect(bad?.failedReason).toMatch(/usage event req_000004 cannot be stored/);
    expect(await totals()).toEqual({ logs: 9, requests: 9, cost: 9n * 27000n });
  });
});
