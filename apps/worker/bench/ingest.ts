/**
 * Usage ingestion benchmark, through the real path:
 *   pnpm --filter @switchyard/worker bench:ingest [--events 50000] [--batch-size N]
 *     [--concurrency N] [--batch-wait-ms N] [--bodies 0.1]
 * Enqueues N usage events on a BullMQ queue of its own (a unique key prefix in Redis DB 2,
 * removed at the end), then starts the worker's usage consumer in this process and
 * times how fast the events become request_logs rows, usage_rollups and
 * attribution_rollups in a fresh database (switchyard_bench_worker, emptied first).
 * Batch size, wait and concurrency default to the worker's production defaults.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { QUEUE_NAMES, type UsageEvent } from "@switchyard/contracts";
import { makeUsageEvent } from "@switchyard/contracts/testing";
import { workerEnvSchema } from "@switchyard/config";
import { createPrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  createRedisConnection,
  defaultJobOptions,
  enqueueUsageBulk,
  type TypedQueue,
} from "@switchyard/jobs";
import { startUsageConsumer } from "../src/usage/consumer";

const defaults = workerEnvSchema.shape;
const { values } = parseArgs({
  options: {
    events: { type: "string", default: "50000" },
    "batch-size": { type: "string", default: String(defaults.WORKER_BATCH_SIZE.parse(undefined)) },
    "batch-wait-ms": {
      type: "string",
      default: String(defaults.WORKER_BATCH_WAIT_MS.parse(undefined)),
    },
    concurrency: { type: "string", default: String(defaults.WORKER_CONCURRENCY.parse(undefined)) },
    /** Share of events that carry logged bodies (0..1). */
    bodies: { type: "string", default: "0.1" },
  },
});
const positiveInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const EVENTS = Math.min(positiveInt("events", values.events), 1_000_000);
const BATCH_SIZE = Math.min(positiveInt("batch-size", values["batch-size"]), 5000);
const BATCH_WAIT_MS = Number(values["batch-wait-ms"]);
const CONCURRENCY = positiveInt("concurrency", values.concurrency);
const BODY_SHARE = Math.min(Math.max(Number(values.bodies), 0), 1);
const REDIS_URL = "redis://127.0.0.1:6379/2";
const DATABASE = "switchyard_bench_worker";

/** A realistic spread: 20 keys over 4 teams, 5 models, 24 hours, 200 end users, 2–3 tags. */
function benchEvent(i: number, now: number): UsageEvent {
  const models = ["gpt-4o-mini", "gpt-4o", "claude-haiku", "claude-sonnet", "gemini-flash"];
  const model = models[i % models.length]!;
  const key = i % 20;
  const stream = i % 3 === 0;
  const latencyMs = 80 + ((i * 7919) % 4000);
  return makeUsageEvent(`bench_${i}`, {
    occurredAt: new Date(now - ((i * 104_729) % 86_400_000)).toISOString(),
    orgId: "org_bench",
    teamId: `team_${key % 4}`,
    virtualKeyId: `vk_${key}`,
    endUser: i % 4 === 0 ? null : `user_${i % 200}`,
    tags: {
      project: `p${i % 7}`,
      env: i % 2 === 0 ? "prod" : "staging",
      ...(i % 5 === 0 && { feature: "search" }),
    },
    requestedModel: model,
    servedModel: model,
    provider: model.startsWith("gpt")
      ? "openai"
      : model.startsWith("claude")
        ? "anthropic"
        : "gemini",
    stream,
    status: i % 97 === 0 ? 502 : 200,
    usage: {
      inputTokens: 200 + (i % 1500),
      outputTokens: 20 + (i % 400),
      cachedInputTokens: i % 3 === 0 ? 128 : 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    },
    usageSource: i % 41 === 0 ? "estimated" : "provider",
    costNanoUsd: String(10_000 + (i % 100_000)),
    requestedCostNanoUsd: String(12_000 + (i % 100_000)),
    cacheStatus: i % 13 === 0 ? "hit" : "miss",
    latencyMs,
    ttftMs: stream ? Math.floor(latencyMs / 4) : null,
    bodies:
      (i % 1000) / 1000 < BODY_SHARE
        ? {
            request: JSON.stringify({ messages: [{ role: "user", content: `question ${i}` }] }),
            response: `answer ${i}`,
            redacted: false,
            truncated: false,
          }
        : null,
  });
}

async function main(): Promise<void> {
  const databaseUrl = await prepareTestDatabase(DATABASE);
  const prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);

  const prefix = `bench-ingest-${randomUUID()}`;
  const redis = createRedisConnection(REDIS_URL);
  const queue: TypedQueue<"usage"> = new Queue(QUEUE_NAMES.usage, {
    connection: redis,
    prefix,
    defaultJobOptions,
  });

  const now = Date.now();
  const enqueueStarted = performance.now();
  for (let i = 0; i < EVENTS; i += 1000) {
    const chunk: UsageEvent[] = [];
    for (let j = i; j < Math.min(i + 1000, EVENTS); j++) chunk.push(benchEvent(j, now));
    await enqueueUsageBulk(queue, chunk);
  }
  const enqueueSeconds = (performance.now() - enqueueStarted) / 1000;

  let committed = 0;
  let batches = 0;
  let done!: () => void;
  const allCommitted = new Promise<void>((resolve) => (done = resolve));
  const started = performance.now();
  const consumerRedis = createRedisConnection(REDIS_URL);
  const consumer = startUsageConsumer({
    prisma,
    connection: consumerRedis,
    prefix,
    batchSize: BATCH_SIZE,
    batchWaitMs: BATCH_WAIT_MS,
    concurrency: CONCURRENCY,
    onCommitted: (events) => {
      batches++;
      committed += events.length;
      if (committed >= EVENTS) done();
    },
  });
  await allCommitted;
  const seconds = (performance.now() - started) / 1000;
  await consumer.close();

  const [logs, rollups, attribution, bodies] = await Promise.all([
    prisma.requestLog.count(),
    prisma.usageRollup.aggregate({ _count: true, _sum: { requests: true } }),
    prisma.attributionRollup.aggregate({ _count: true, _sum: { requests: true } }),
    prisma.requestBody.count(),
  ]);
  await queue.obliterate({ force: true });
  await queue.close();
  await consumerRedis.quit();
  await redis.quit();
  await prisma.$disconnect();

  if (logs !== EVENTS || rollups._sum.requests !== EVENTS)
    throw new Error(
      `expected ${EVENTS} events, found ${logs} logs and ${rollups._sum.requests} rollup requests`,
    );
  const rate = (n: number, s: number): string => Math.round(n / s).toLocaleString("en-US");
  console.log(
    `usage ingestion: ${EVENTS.toLocaleString("en-US")} events, BullMQ → consumer → Postgres`,
  );
  console.log(
    `  batch size ${BATCH_SIZE}, batch wait ${BATCH_WAIT_MS} ms, concurrency ${CONCURRENCY}`,
  );
  console.log(
    `  enqueue:   ${enqueueSeconds.toFixed(2)} s (${rate(EVENTS, enqueueSeconds)} events/s into Redis)`,
  );
  console.log(
    `  ingest:    ${seconds.toFixed(2)} s → ${rate(EVENTS, seconds)} events/s into Postgres`,
  );
  console.log(
    `  batches:   ${batches} committed, ${(EVENTS / batches).toFixed(1)} events per batch on average`,
  );
  console.log(
    `  written:   ${logs} request_logs, ${rollups._count} usage_rollups rows, ` +
      `${attribution._count} attribution_rollups rows (${attribution._sum.requests ?? 0} increments), ${bodies} request_bodies`,
  );
}

await main();
