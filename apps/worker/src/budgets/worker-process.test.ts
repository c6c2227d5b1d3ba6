import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { createProducerConnection } from "@switchyard/jobs";
import { periodStart, readBudget } from "@switchyard/limits";
import { TEST_REDIS_URL, waitFor } from "../testing/fixtures";
import { startTestSmtpServer, type TestSmtpServer } from "../testing/smtp";
import { killWorkerProcesses, spawnWorkerProcess } from "../testing/worker-process";

const USD = 1_000_000_000n;
let databaseUrl: string;
let prisma: PrismaClient;
let redis: Redis;
let smtp: TestSmtpServer;

beforeAll(async () => {
  databaseUrl = await prepareTestDatabase("switchyard_test_worker_budgets");
  prisma = createPrismaClient(databaseUrl);
  redis = createProducerConnection(TEST_REDIS_URL);
  await truncateAll(prisma);
  await redis.flushdb();
  smtp = await startTestSmtpServer();
});
afterAll(async () => {
  killWorkerProcesses();
  await smtp.close();
  await redis.quit();
  await prisma.$disconnect();
});

describe("worker process", () => {
  it("reconciles budgets and sends due alerts on its own, and stops cleanly on SIGTERM", async () => {
    const org = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
    const team = await prisma.team.create({
      data: { orgId: org.id, slug: "search", name: "search" },
    });
    const key = await prisma.virtualKey.create({
      data: {
        orgId: org.id,
        teamId: team.id,
        name: "indexer",
        keyHash: "h1",
        prefix: "sk-sy-1abc",
      },
    });
    const budget = await prisma.budget.create({
      data: {
        orgId: org.id,
        scope: "TEAM",
        teamId: team.id,
        amountNanoUsd: 10n * USD,
        period: "MONTH",
        recipients: ["ops@example.com"],
      },
    });
    const now = new Date();
    await prisma.requestLog.create({
      data: {
        requestId: "req_process",
        createdAt: now,
        // Older than the reconciliation margin: its cost would be in Redis already.
        ingestedAt: new Date(now.getTime() - 60_000),
        orgId: org.id,
        teamId: team.id,
        virtualKeyId: key.id,
        endpoint: "chat.completions",
        requestedModel: "gpt-4o",
        usageSource: "provider",
        costNanoUsd: 6n * USD,
        cacheStatus: "miss",
        status: 200,
        latencyMs: 100,
        stream: false,
      },
    });

    const prefix = `test:${randomUUID()}:`;
    const { child, exited, output } = spawnWorkerProcess({
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      SMTP_URL: smtp.url,
      MAIL_FROM: "Budgets <budgets@example.com>",
      WORKER_BUDGET_INTERVAL_MS: "200",
      SWITCHYARD_LIMITS_PREFIX: prefix,
      DASHBOARD_URL: "http://dash.example.com",
    });

    await waitFor(() => smtp.mails.length > 0, 30_000, "the alert email");
    expect(smtp.mails[0]!.subject).toBe("[Switchyard] Team 'search' monthly budget at 50 %");
    expect(smtp.mails[0]!.from?.text).toContain("budgets@example.com");
    expect(smtp.mails[0]!.text).toContain("http://dash.example.com/budgets");

    const target = { id: budget.id, periodStart: periodStart("month", "UTC", now) };
    await waitFor(
      async () => (await readBudget(redis, target, { prefix })).spentNanoUsd === 6n * USD,
      10_000,
      "spent in Redis",
    );
    // Periodic passes go on but do not send the same alert again.
    await redis.flushdb();
    await waitFor(
      async () => (await readBudget(redis, target, { prefix })).spentNanoUsd === 6n * USD,
      10_000,
      "spent restored after FLUSH",
    );
    expect(smtp.mails).toHaveLength(1);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output()).toContain("worker stopped");
  });
});
