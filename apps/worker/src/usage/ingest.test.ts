import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { aggregateRollups, hourBucket, writeUsageBatch } from "./ingest";
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
