import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient, type Role } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { syncHealth, transitionCircuits } from "@switchyard/limits";
import { callerFor, createMember, expectTrpcError, recordingServices } from "../../../../test/fixtures";
import { redisHealthReport, type ServerServices } from "../../services";
import type { SessionUser } from "../../trpc";

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/4";
// A prefix of its own, so counters left by other suites or runs are never read.
const PREFIX = `sy-test-health-${process.pid}-${Date.now()}:`;
const WINDOW_MS = 120_000;

type Handle = "mia" | "otto";
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", other: "" };
let prisma: PrismaClient;
let redis: Redis;
let services: ServerServices;

async function as(handle: Handle, s: ServerServices = services) {
  return callerFor(prisma, users[handle], s);
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_health"));
  await truncateAll(prisma);
  redis = new Redis(REDIS_URL);
  services = { ...recordingServices(REDIS_URL, [], 11), healthReport: redisHealthReport(redis, PREFIX, WINDOW_MS) };
  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const alpha = await prisma.team.create({ data: { orgId: acme.id, slug: "alpha", name: "Alpha" } });
  Object.assign(ids, { acme: acme.id, other: other.id });
  const people: [Handle, Role, string | null, string][] = [
    ["mia", "MEMBER", alpha.id, acme.id],
    ["otto", "ORG_ADMIN", null, other.id],
  ];
  for (const [handle, role, teamId, orgId] of people)
    users[handle] = (await createMember(prisma, { email: `${handle}@health.test`, orgId, role, teamId })).user;
  const provider = await prisma.providerCredential.create({ data: { slug: "openai-main", type: "openai" } });
  await prisma.model.createMany({
    data: [
      { name: "gpt-4o-mini", providerId: provider.id, upstreamModel: "gpt-4o-mini", source: "CONFIG_FILE" },
      { name: "claude-haiku", providerId: provider.id, upstreamModel: "claude-3-5-haiku", source: "CONFIG_FILE" },
      { name: "acme-llama", providerId: provider.id, upstreamModel: "llama3", orgId: acme.id },
    ],
  });

  // What proxies write: a window of outcomes for two targets, and gpt-4o-mini's circuit opened.
  const now = Date.now();
  const bucket = now - (now % 10_000);
  await syncHealth(redis, PREFIX, {
    nowMs: now,
    targets: [],
    deltas: [
      { target: "gpt-4o-mini", bucketStartMs: bucket, ok: 6, errors: 4, latencySumMs: 1200, latencyCount: 6 },
      { target: "acme-llama", bucketStartMs: bucket, ok: 10, errors: 0, latencySumMs: 3000, latencyCount: 10 },
    ],
  });
  await transitionCircuits(redis, PREFIX, [{ target: "gpt-4o-mini", from: ["closed"], to: "open" }], { nowMs: now, openMs: 60_000 });
});

afterAll(async () => {
  const keys = await redis?.keys(`${PREFIX}*`);
  if (keys && keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
  await prisma?.$disconnect();
});

describe("health.list", () => {
  it("shows a member each target's circuit, error rate and latency as the proxies recorded them", async () => {
    const report = await (await as("mia")).health.list({ orgId: ids.acme });
    expect(report.error).toBeNull();
    expect(report.windowMs).toBe(WINDOW_MS);
    expect(report.targets.map((t) => t.model)).toEqual(["acme-llama", "claude-haiku", "gpt-4o-mini"]);
    const mini = report.targets.find((t) => t.model === "gpt-4o-mini");
    expect(mini).toMatchObject({ provider: "openai-main", state: "open", requests: 10, errors: 4, errorRate: 0.4, avgLatencyMs: 200 });
    expect(mini?.openUntil).toBeInstanceOf(Date);
    expect(mini!.openUntil!.getTime()).toBeGreaterThan(Date.now());
    expect(report.targets.find((t) => t.model === "acme-llama")).toMatchObject({
      state: "closed",
      requests: 10,
      errors: 0,
      errorRate: 0,
      avgLatencyMs: 300,
      openUntil: null,
    });
    // No traffic at all: closed, and no rate rather than a made-up 0 %.
    expect(report.targets.find((t) => t.model === "claude-haiku")).toMatchObject({ state: "closed", requests: 0, errorRate: null, avgLatencyMs: null });
  });

  it("shows another organisation only the models its keys can call", async () => {
    const report = await (await as("otto")).health.list({ orgId: ids.other });
    expect(report.targets.map((t) => t.model)).toEqual(["claude-haiku", "gpt-4o-mini"]);
    await expectTrpcError((await as("otto")).health.list({ orgId: ids.acme }), "NOT_FOUND");
  });

  it("says so when Redis cannot be read, instead of failing the page", async () => {
    const down = new Redis("redis://127.0.0.1:1/0", { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on("error", () => undefined);
    const report = await (
      await as("mia", { ...services, healthReport: redisHealthReport(down, PREFIX, WINDOW_MS) })
    ).health.list({ orgId: ids.acme });
    expect(report.error).toMatch(/^Could not read health from Redis/);
    expect(report.targets).toEqual([]);
    down.disconnect();
  });
});
