import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  createProducerConnection,
  createQueue,
  createRedisConnection,
  enqueueUsageBulk,
  type TypedQueue,
} from "@switchyard/jobs";
import { readBudget } from "@switchyard/limits";
import { startUsageConsumer, type UsageConsumer } from "../usage/consumer";
import { TEST_REDIS_URL, usageEvent, waitFor } from "../testing/fixtures";
import { startTestSmtpServer, type TestSmtpServer } from "../testing/smtp";
import { startBudgetLoop, type BudgetLoop } from "./loop";
import { createSmtpMailer, type AlertMailer } from "./mailer";

const USD = 1_000_000_000n;
const NOW = new Date("2026-11-20T12:00:00.000Z");

let prisma: PrismaClient;
let redis: Redis;
let queue: TypedQueue<"usage">;
let smtp: TestSmtpServer;
let mailer: AlertMailer;
let loop: BudgetLoop | undefined;
let consumer: UsageConsumer | undefined;
let prefix: string;

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_worker_budgets"));
  redis = createProducerConnection(TEST_REDIS_URL);
  queue = createQueue("usage", createRedisConnection(TEST_REDIS_URL));
});
afterAll(async () => {
  await queue.close();
  await redis.quit();
  await prisma.$disconnect();
});
beforeEach(async () => {
  await truncateAll(prisma);
  await redis.flushdb();
  prefix = `test:${randomUUID()}:`;
  smtp = await startTestSmtpServer();
  mailer = createSmtpMailer(smtp.url, "Switchyard <alerts@switchyard.local>");
});
afterEach(async () => {
  await consumer?.close();
  consumer = undefined;
  await loop?.stop();
  loop = undefined;
  mailer.close();
  await smtp.close();
});

async function seedTeamBudget(): Promise<{
  orgId: string;
  teamId: string;
  keyId: string;
  budgetId: string;
}> {
  const org = await prisma.organization.create({
    data: { slug: "acme", name: "Acme", timeZone: "UTC" },
  });
  const team = await prisma.team.create({
    data: { orgId: org.id, slug: "search", name: "search" },
  });
  const key = await prisma.virtualKey.create({
    data: { orgId: org.id, teamId: team.id, name: "indexer", keyHash: "h1", prefix: "sk-sy-1abc" },
  });
  const budget = await prisma.budget.create({
    data: {
      orgId: org.id,
      scope: "TEAM",
      teamId: team.id,
      amountNanoUsd: 100n * USD,
      period: "MONTH",
      recipients: ["finance@example.com"],
    },
  });
  return { orgId: org.id, teamId: team.id, keyId: key.id, budgetId: budget.id };
}

function start(intervalMs: number): BudgetLoop {
  loop = startBudgetLoop({
    prisma,
    redis,
    mailer,
    clock: { now: () => NOW },
    limitsPrefix: prefix,
    intervalMs,
  });
  return loop;
}

describe("budget loop", () => {
  it("checks the touched budgets right after a usage batch commits", async () => {
    const w = await seedTeamBudget();
    // Hourly full passes: only the check after the batch can send this email in time.
    const l = start(3_600_000);
    await l.runNow();
    consumer = startUsageConsumer({
      prisma,
      connection: createRedisConnection(TEST_REDIS_URL),
      batchSize: 10,
      batchWaitMs: 20,
      concurrency: 20,
      onCommitted: (events) => l.usageCommitted(events),
    });
    await enqueueUsageBulk(
      queue,
      [30, 30, 25].map((usd, i) =>
        usageEvent(`req_loop_${i}`, {
          orgId: w.orgId,
          teamId: w.teamId,
          virtualKeyId: w.keyId,
          occurredAt: "2026-11-10T10:00:00.000Z",
          costNanoUsd: String(BigInt(usd) * USD),
        }),
      ),
    );
    await waitFor(() => smtp.mails.length > 0, 20_000, "the alert email");
    expect(smtp.mails[0]!.subject).toBe("[Switchyard] Team 'search' monthly budget at 80 %");
    expect(smtp.mails[0]!.text).toContain("$85.00 of $100.00 (85.0 %)");
    // Rows this fresh are not raised into Redis: the proxies that served them settle their
    // cost there themselves (RECONCILE_MARGIN_SECONDS); raising too would count it twice.
    const target = { id: w.budgetId, periodStart: new Date("2026-11-01T00:00:00Z") };
    expect((await readBudget(redis, target, { prefix })).spentNanoUsd).toBe(0n);
  });

  it("reconciles every budget periodically, so spend lost with Redis comes back without new traffic", async () => {
    const w = await seedTeamBudget();
    await prisma.requestLog.create({
      data: {
        requestId: "req_periodic",
        createdAt: new Date("2026-11-10T10:00:00Z"),
        // Older than the reconciliation margin: its cost would be in Redis already.
        ingestedAt: new Date(Date.now() - 60_000),
        orgId: w.orgId,
        teamId: w.teamId,
        virtualKeyId: w.keyId,
        endpoint: "chat.completions",
        requestedModel: "gpt-4o",
        usageSource: "provider",
        costNanoUsd: 7n * USD,
        cacheStatus: "miss",
        status: 200,
        latencyMs: 100,
        stream: false,
      },
    });
    const target = { id: w.budgetId, periodStart: new Date("2026-11-01T00:00:00Z") };
    const spent = async () => (await readBudget(redis, target, { prefix })).spentNanoUsd;
    start(100);
    await waitFor(async () => (await spent()) === 7n * USD, 10_000, "first reconciliation");
    await redis.flushdb();
    await waitFor(async () => (await spent()) === 7n * USD, 10_000, "reconciliation after FLUSH");
  });
});
