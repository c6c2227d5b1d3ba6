import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { histogramPercentile, type UsageEvent } from "@switchyard/contracts";
import { aggregateRollups, HISTOGRAM_LENGTH, hourBucket, writeUsageBatch } from "./ingest";
import { usageEvent } from "../testing/fixtures";

let prisma: PrismaClient;
beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_worker"));
});
afterAll(async () => prisma.$disconnect());
beforeEach(async () => truncateAll(prisma));

async function seedKey(id: string): Promise<void> {
  await prisma.organization.upsert({
    where: { id: "org_1" },
    update: {},
    create: { id: "org_1", slug: "o1", name: "O1" },
  });
  await prisma.team.upsert({
    where: { id: "team_1" },
    update: {},
    create: { id: "team_1", orgId: "org_1", slug: "t1", name: "T1" },
  });
  await prisma.virtualKey.create({
    data: {
      id,
      orgId: "org_1",
      teamId: "team_1",
      name: id,
      keyHash: `hash_${id}`,
      prefix: "sk-sy-x",
    },
  });
}

describe("hourBucket", () => {
  it("truncates to the UTC hour", () => {
    expect(hourBucket("2026-03-01T10:59:59.999Z").toISOString()).toBe("2026-03-01T10:00:00.000Z");
    expect(hourBucket("2026-03-01T23:00:00+02:00").toISOString()).toBe("2026-03-01T21:00:00.000Z");
  });
});

describe("writeUsageBatch", () => {
  it("writes the request log and exact hourly rollups, and bumps lastUsedAt", async () => {
    await seedKey("vk_1");
    const events = [
      usageEvent(1),
      usageEvent(2, { costNanoUsd: "1000000000000", latencyMs: 100 }),
      // error, no cost: counted as an error, not as unpriced
      usageEvent(3, {
        status: 502,
        costNanoUsd: null,
        usage: {
          inputTokens: 0,
          outputTokens: 0,
          cachedInputTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
        },
        occurredAt: "2026-03-01T10:59:00.000Z",
      }),
      // success without a price: unpriced, adds nothing to the money
      usageEvent(4, { costNanoUsd: null, cacheStatus: "hit" }),
      usageEvent(5, { cacheStatus: "semantic-hit" }),
      // other hour, other model (servedModel falls back to requestedModel), no provider
      usageEvent(6, {
        occurredAt: "2026-03-01T11:00:00.000Z",
        servedModel: null,
        requestedModel: "my-route",
        provider: null,
      }),
    ];
    const r = await writeUsageBatch(prisma, events);
    expect(r).toEqual({ inserted: 6, duplicates: 0 });
    expect(await prisma.requestLog.count()).toBe(6);
    const log = await prisma.requestLog.findUniqueOrThrow({ where: { requestId: "req_000004" } });
    expect(log.costNanoUsd).toBeNull();
    expect(log.createdAt.toISOString()).toBe("2026-03-01T10:15:00.000Z");

    const rollups = await prisma.usageRollup.findMany({ orderBy: { bucket: "asc" } });
    expect(rollups).toHaveLength(2);
    const [ten, eleven] = rollups;
    expect(ten).toMatchObject({
      model: "gpt-4o-mini",
      provider: "openai-main",
      requests: 5,
      errors: 1,
      cacheHits: 2,
      unpricedRequests: 1,
      inputTokens: 400n,
      outputTokens: 80n,
      cachedInputTokens: 40n,
      reasoningTokens: 20n,
      costNanoUsd: 1000000000000n + 2n * 27000n, // events 1, 2, 5
      latencyMsSum: 250n * 4n + 100n,
    });
    expect(ten!.bucket.toISOString()).toBe("2026-03-01T10:00:00.000Z");
    expect(eleven).toMatchObject({
      model: "my-route",
      provider: "",
      requests: 1,
      costNanoUsd: 27000n,
    });
    const key = await prisma.virtualKey.findUniqueOrThrow({ where: { id: "vk_1" } });
    expect(key.lastUsedAt?.toISOString()).toBe("2026-03-01T11:00:00.000Z");
  });

  it("counts a replayed or duplicated event once", async () => {
    await writeUsageBatch(prisma, [usageEvent(1), usageEvent(2)]);
    const again = await writeUsageBatch(prisma, [usageEvent(2), usageEvent(3), usageEvent(3)]);
    expect(again).toEqual({ inserted: 1, duplicates: 2 });
    expect(await prisma.requestLog.count()).toBe(3);
    const rollup = await prisma.usageRollup.findFirstOrThrow();
    expect(rollup.requests).toBe(3);
    expect(rollup.costNanoUsd).toBe(81000n);
    expect(rollup.inputTokens).toBe(300n);
  });

  it("never moves lastUsedAt backwards", async () => {
    await seedKey("vk_1");
    await writeUsageBatch(prisma, [usageEvent(1, { occurredAt: "2026-03-02T00:00:00.000Z" })]);
    await writeUsageBatch(prisma, [usageEvent(2, { occurredAt: "2026-03-01T00:00:00.000Z" })]);
    const key = await prisma.virtualKey.findUniqueOrThrow({ where: { id: "vk_1" } });
    expect(key.lastUsedAt?.toISOString()).toBe("2026-03-02T00:00:00.000Z");
  });

  it("aggregates in memory to one delta per dimension set", () => {
    const deltas = aggregateRollups([
      usageEvent(1),
      usageEvent(2),
      usageEvent(3, { virtualKeyId: "vk_2" }),
    ]);
    expect(deltas.map((d) => [d.virtualKeyId, d.requests])).toEqual([
      ["vk_1", 2],
      ["vk_2", 1],
    ]);
  });
});

describe("writeUsageBatch: savings, latency histograms, attribution, bodies", () => {
  const zeroUsage = {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
  // All in one rollup row (10:00, vk_1, gpt-4o-mini, openai-main); 100 in / 20 out each unless zeroed.
  const first: UsageEvent[] = [
    usageEvent(1, { endUser: "alice", tags: { project: "search", env: "prod" } }),
    usageEvent(2, {
      usageSource: "estimated",
      costNanoUsd: "30000",
      requestedCostNanoUsd: "90000",
      latencyMs: 40,
      ttftMs: 80,
      endUser: "alice",
      tags: { project: "search" },
      bodies: { request: "hello\u0000there", response: "hi", redacted: true, truncated: false },
    }),
    usageEvent(3, {
      cacheStatus: "hit",
      costNanoUsd: "0",
      requestedCostNanoUsd: "50000",
      latencyMs: 20,
      ttftMs: 10,
      endUser: "bob",
    }),
    usageEvent(4, {
      cacheStatus: "semantic-hit",
      costNanoUsd: "0",
      requestedCostNanoUsd: "70000",
      latencyMs: 60,
      ttftMs: 30,
      tags: { project: "ads" },
    }),
    // unpriced success: no cost, no requested cost
    usageEvent(5, {
      costNanoUsd: null,
      requestedCostNanoUsd: null,
      latencyMs: 900,
      ttftMs: 400,
      endUser: "bob",
      tags: { env: "prod" },
    }),
  ];
  const second: UsageEvent[] = [
    usageEvent(6, {
      status: 502,
      errorClass: "upstream_5xx",
      usageSource: "none",
      usage: zeroUsage,
      costNanoUsd: null,
      requestedCostNanoUsd: null,
      latencyMs: 200_000,
      endUser: "alice",
      tags: { project: "search" },
      bodies: { request: "{}", response: "", redacted: false, truncated: true },
    }),
    usageEvent(7, {
      usageSource: "estimated",
      costNanoUsd: "11",
      requestedCostNanoUsd: "13",
      latencyMs: 450,
      ttftMs: 120,
    }),
  ];

  async function snapshot(): Promise<unknown> {
    return {
      logs: await prisma.requestLog.findMany({
        orderBy: { requestId: "asc" },
        omit: { id: true, ingestedAt: true },
      }),
      rollups: await prisma.usageRollup.findMany({ orderBy: { id: "asc" } }),
      attribution: await prisma.attributionRollup.findMany({ orderBy: { id: "asc" } }),
      bodies: await prisma.requestBody.findMany({ orderBy: { requestId: "asc" } }),
    };
  }

  it("sums every new column exactly, merges histograms into an existing row, and counts a replay once", async () => {
    // A row written before histograms existed: the column holds its empty default.
    await prisma.usageRollup.create({
      data: {
        bucket: new Date("2026-03-01T10:00:00.000Z"),
        orgId: "org_1",
        teamId: "team_1",
        virtualKeyId: "vk_1",
        model: "gpt-4o-mini",
        provider: "openai-main",
        requests: 1,
        costNanoUsd: 5n,
      },
    });
    expect((await prisma.usageRollup.findFirstOrThrow()).latencyHist).toEqual([]);

    expect(await writeUsageBatch(prisma, first)).toEqual({ inserted: 5, duplicates: 0 });
    expect(await writeUsageBatch(prisma, second)).toEqual({ inserted: 2, duplicates: 0 });

    const rollups = await prisma.usageRollup.findMany();
    expect(rollups).toHaveLength(1);
    const r = rollups[0]!;
    expect(r).toMatchObject({
      requests: 8,
      errors: 1,
      cacheHits: 2,
      unpricedRequests: 1,
      estimatedRequests: 2,
      costNanoUsd: 5n + 27000n + 30000n + 11n,
      requestedCostNanoUsd: 27000n + 90000n + 50000n + 70000n + 13n,
      cacheSavedNanoUsd: 50000n + 70000n,
      ttftMsSum: 80n + 10n + 30n + 400n + 120n,
      ttftCount: 5,
    });
    const latencyHist = new Array<number>(HISTOGRAM_LENGTH).fill(0);
    // 20 → ≤25, 40 → ≤50, 60 → ≤100, 250 → ≤300, 450 → ≤500, 900 → ≤1000, 200 000 → overflow
    for (const i of [0, 1, 2, 5, 7, 9, 20]) latencyHist[i] = 1;
    expect(r.latencyHist).toEqual(latencyHist);
    const ttftHist = new Array<number>(HISTOGRAM_LENGTH).fill(0);
    // 10 → ≤25, 30 → ≤50, 80 → ≤100, 120 → ≤150, 400 → ≤400
    for (const i of [0, 1, 2, 3, 6]) ttftHist[i] = 1;
    expect(r.ttftHist).toEqual(ttftHist);
    // p50 of 7 latencies is the 4th (250 ms, bucket ≤300); p95 is the slowest (overflow → last bound).
    expect(histogramPercentile(r.latencyHist, 0.5)).toBe(300);
    expect(histogramPercentile(r.latencyHist, 0.95)).toBe(120_000);
    expect(histogramPercentile(r.ttftHist, 0.5)).toBe(100);
    expect(histogramPercentile(r.ttftHist, 0.8)).toBe(150);

    const log2 = await prisma.requestLog.findUniqueOrThrow({ where: { requestId: "req_000002" } });
    expect(log2.requestedCostNanoUsd).toBe(90000n);
    const log5 = await prisma.requestLog.findUniqueOrThrow({ where: { requestId: "req_000005" } });
    expect(log5.requestedCostNanoUsd).toBeNull();

    const attribution = await prisma.attributionRollup.findMany({
      orderBy: [{ dimension: "asc" }, { value: "asc" }],
      omit: { id: true },
    });
    const bucket = new Date("2026-03-01T10:00:00.000Z");
    const row = (
      dimension: string,
      value: string,
      n: [number, number, number, bigint, bigint, bigint],
    ) => ({
      bucket,
      orgId: "org_1",
      teamId: "team_1",
      dimension,
      value,
      requests: n[0],
      errors: n[1],
      unpricedRequests: n[2],
      inputTokens: n[3],
      outputTokens: n[4],
      costNanoUsd: n[5],
    });
    expect(attribution).toEqual([
      row("tag:env", "prod", [2, 0, 1, 200n, 40n, 27000n]), // events 1, 5
      row("tag:project", "ads", [1, 0, 0, 100n, 20n, 0n]), // event 4
      row("tag:project", "search", [3, 1, 0, 200n, 40n, 57000n]), // events 1, 2, 6
      row("user", "alice", [3, 1, 0, 200n, 40n, 57000n]), // events 1, 2, 6
      row("user", "bob", [2, 0, 1, 200n, 40n, 0n]), // events 3, 5
    ]);

    const bodies = await prisma.requestBody.findMany({ orderBy: { requestId: "asc" } });
    expect(bodies).toEqual([
      {
        requestId: "req_000002",
        orgId: "org_1",
        teamId: "team_1",
        createdAt: new Date("2026-03-01T10:15:00.000Z"),
        request: "hello\uFFFDthere",
        response: "hi",
        redacted: true,
        truncated: false,
      },
      expect.objectContaining({ requestId: "req_000006", request: "{}", truncated: true }),
    ]);

    // Replays (whole batches, reordered, duplicated inside a batch) change nothing anywhere.
    const before = await snapshot();
    expect(await writeUsageBatch(prisma, [...second, ...first].reverse())).toEqual({
      inserted: 0,
      duplicates: 7,
    });
    expect(await writeUsageBatch(prisma, [first[1]!, first[1]!, second[0]!])).toEqual({
      inserted: 0,
      duplicates: 3,
    });
    expect(await snapshot()).toEqual(before);

    // A batch mixing replays with one new event adds exactly the new one.
    const eighth = usageEvent(8, {
      latencyMs: 45,
      ttftMs: 45,
      endUser: "alice",
      tags: {},
      bodies: { request: "q", response: "a", redacted: false, truncated: false },
    });
    expect(await writeUsageBatch(prisma, [first[0]!, eighth, second[0]!])).toEqual({
      inserted: 1,
      duplicates: 2,
    });
    const after = await prisma.usageRollup.findFirstOrThrow();
    expect(after.requests).toBe(9);
    expect(after.requestedCostNanoUsd).toBe(r.requestedCostNanoUsd + 27000n);
    expect(after.latencyHist[1]).toBe(2);
    expect(after.ttftHist[1]).toBe(2);
    expect(after.ttftCount).toBe(6);
    const alice = await prisma.attributionRollup.findFirstOrThrow({
      where: { dimension: "user", value: "alice" },
    });
    expect(alice).toMatchObject({ requests: 4, costNanoUsd: 57000n + 27000n });
    expect(await prisma.attributionRollup.count()).toBe(5);
    expect(await prisma.requestBody.count()).toBe(3);
  });

  it("merges histograms into a NULL column as if it were empty", async () => {
    await writeUsageBatch(prisma, [usageEvent(1, { latencyMs: 10 })]);
    await prisma.$executeRaw`UPDATE "usage_rollups" SET "latencyHist" = NULL, "ttftHist" = NULL`;
    await writeUsageBatch(prisma, [usageEvent(2, { latencyMs: 10_000, ttftMs: 10 })]);
    const r = await prisma.usageRollup.findFirstOrThrow();
    expect(r.latencyHist).toHaveLength(HISTOGRAM_LENGTH);
    expect(r.latencyHist[15]).toBe(1); // 10 000 ms: the ≤10 000 bucket
    expect(r.latencyHist.reduce((a, b) => a + b, 0)).toBe(1);
    expect(r.ttftHist[0]).toBe(1);
  });

  it("keeps bind parameters under Postgres' limit with thousands of distinct rollup rows", async () => {
    // 3 000 events, each its own rollup row (distinct key) and its own user and tag rows.
    const events = Array.from({ length: 3000 }, (_, i) =>
      usageEvent(i, {
        virtualKeyId: `vk_${i}`,
        endUser: `user_${i}`,
        tags: { run: String(i) },
        costNanoUsd: String(i),
      }),
    );
    expect(await writeUsageBatch(prisma, events)).toEqual({ inserted: 3000, duplicates: 0 });
    expect(await prisma.usageRollup.count()).toBe(3000);
    expect(await prisma.attributionRollup.count()).toBe(6000);
    const agg = await prisma.attributionRollup.aggregate({
      where: { dimension: "user" },
      _sum: { costNanoUsd: true, requests: true },
    });
    expect(agg._sum).toEqual({ costNanoUsd: BigInt((3000 * 2999) / 2), requests: 3000 });
  });
});
