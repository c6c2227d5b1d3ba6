import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { createQueue, createRedisConnection, type TypedQueue } from "@switchyard/jobs";
import type { Redis } from "ioredis";
import { enqueueInBatches, TEST_REDIS_URL, usageEvent, waitFor } from "./testing/fixtures";
import {
  killWorkerProcesses,
  spawnWorkerProcess,
  type WorkerProcess,
} from "./testing/worker-process";

let databaseUrl: string;
let prisma: PrismaClient;
let redis: Redis;
let queue: TypedQueue<"usage">;

beforeAll(async () => {
  databaseUrl = await prepareTestDatabase("switchyard_test_worker");
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

function spawnWorker(env: Record<string, string> = {}): WorkerProcess {
  return spawnWorkerProcess({
    PATH: process.env.PATH,
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    WORKER_BATCH_SIZE: "50",
    WORKER_BATCH_WAIT_MS: "100",
    WORKER_CONCURRENCY: "300",
    ...env,
  });
}

describe("worker process", () => {
  it("on SIGTERM commits or returns its in-flight jobs; a second worker finishes them with exact totals", async () => {
    // Slow every request-log insert down so batches are genuinely in flight at SIGTERM.
    await prisma.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION slow_logs() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$ LANGUAGE plpgsql`);
    await prisma.$executeRawUnsafe(
      `CREATE TRIGGER slow_logs AFTER INSERT ON request_logs FOR EACH STATEMENT EXECUTE FUNCTION slow_logs()`,
    );
    const N = 2000;
    // Batch jobs, as proxies send them; more jobs (400) than the worker takes at once (300),
    // so some are still in the queue at SIGTERM.
    const PER_JOB = 5;
    const jobs = await enqueueInBatches(
      queue,
      Array.from({ length: N }, (_, i) =>
        usageEvent(i, { virtualKeyId: `vk_${i % 7}`, costNanoUsd: String(1000 + i) }),
      ),
      PER_JOB,
    );

    const first = spawnWorker();
    await waitFor(() => first.output().includes("worker ready"), 30_000, "first worker to boot");
    await waitFor(async () => (await prisma.requestLog.count()) > 0, 30_000, "first rows");
    const activeAtSignal = (await queue.getJobCounts("active")).active;
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(activeAtSignal).toBeGreaterThan(0);

    // Nothing is left half-done: every job is either completed (and its row exists) or back in the queue.
    const afterFirst = await queue.getJobCounts(
      "active",
      "completed",
      "waiting",
      "failed",
      "delayed",
    );
    expect(afterFirst.active).toBe(0);
    expect(afterFirst.failed).toBe(0);
    expect(afterFirst.completed).toBeLessThan(jobs);
    expect(await prisma.requestLog.count()).toBe(Number(afterFirst.completed) * PER_JOB);
    expect(first.output()).toContain("worker stopped");

    await prisma.$executeRawUnsafe(`DROP TRIGGER slow_logs ON request_logs`);
    const second = spawnWorker();
    await waitFor(
      async () => (await queue.getJobCounts("completed")).completed === jobs,
      60_000,
      "second worker to finish",
    );
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);

    const agg = await prisma.usageRollup.aggregate({
      _sum: { requests: true, costNanoUsd: true, inputTokens: true },
    });
    expect(await prisma.requestLog.count()).toBe(N);
    expect(agg._sum.requests).toBe(N);
    expect(agg._sum.inputTokens).toBe(BigInt(N * 100));
    // sum of 1000 + i for i < N
    expect(agg._sum.costNanoUsd).toBe(BigInt(N * 1000 + (N * (N - 1)) / 2));
  });

  it("applies request-log retention on its own, at start and on its interval", async () => {
    await truncateAll(prisma);
    const DAY = 86_400_000;
    const org = await prisma.organization.create({
      data: { slug: "keep-two-days", name: "K", requestLogRetentionDays: 2 },
    });
    const row = (requestId: string, ageMs: number) => ({
      requestId,
      createdAt: new Date(Date.now() - ageMs),
      orgId: org.id,
      teamId: "team",
      virtualKeyId: "key",
      endpoint: "chat.completions",
      requestedModel: "gpt-4o-mini",
      usageSource: "provider",
      cacheStatus: "miss",
      status: 200,
      latencyMs: 10,
      stream: false,
    });
    const body = (requestId: string, ageMs: number) => ({
      requestId,
      orgId: org.id,
      teamId: "team",
      createdAt: new Date(Date.now() - ageMs),
      request: "{}",
      response: "{}",
      redacted: false,
    });
    await prisma.requestLog.createMany({ data: [row("old1", 3 * DAY), row("new1", 1000)] });
    await prisma.requestBody.createMany({ data: [body("old1", 3 * DAY), body("new1", 1000)] });

    const worker = spawnWorker({ WORKER_RETENTION_INTERVAL_MS: "300" });
    await waitFor(
      async () =>
        (await prisma.requestLog.count()) === 1 && (await prisma.requestBody.count()) === 1,
      30_000,
      "retention at start",
    );
    // Rows that are already old when written later go at a following run.
    await prisma.requestLog.createMany({ data: [row("old2", 5 * DAY)] });
    await prisma.requestBody.createMany({ data: [body("old2", 5 * DAY)] });
    await waitFor(
      async () =>
        (await prisma.requestLog.count()) === 1 && (await prisma.requestBody.count()) === 1,
      30_000,
      "retention on its interval",
    );
    expect((await prisma.requestLog.findFirstOrThrow()).requestId).toBe("new1");
    expect((await prisma.requestBody.findFirstOrThrow()).requestId).toBe("new1");
    expect(worker.output()).toContain("request log retention applied");

    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain("worker stopped");
  });
});
