import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_MS } from "@switchyard/contracts";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { addMembership, createKey, createUserWithPassword, expectTrpcError } from "../../test/fixtures";
import { createCaller } from "./root";
import { createContextForUser, type SessionUser } from "./trpc";

let prisma: PrismaClient;
const users: Record<"alice" | "bob" | "olivia", SessionUser> = {} as never;
const ids = { teamA: "", teamB: "", teamC: "", keyA1: "", keyA2: "", keyA1Prefix: "" };

const day = new Date("2025-03-10T00:00:00.000Z");
const at = (hour: number) => new Date(day.getTime() + hour * 3_600_000);
const range = { from: day, to: at(24) };

/** A histogram with `count` requests in the bucket whose upper bound is `boundMs`. */
function hist(...entries: [boundMs: number, count: number][]): number[] {
  const h = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const [bound, count] of entries) h[LATENCY_BUCKETS_MS.indexOf(bound)] = count;
  return h;
}

async function callerFor(user: SessionUser) {
  return createCaller(await createContextForUser(prisma, user));
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_analytics"));
  await truncateAll(prisma);
  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const teamA = await prisma.team.create({ data: { orgId: acme.id, slug: "alpha", name: "Alpha" } });
  const teamB = await prisma.team.create({ data: { orgId: acme.id, slug: "beta", name: "Beta" } });
  const teamC = await prisma.team.create({ data: { orgId: other.id, slug: "gamma", name: "Gamma" } });
  for (const [handle, email] of [
    ["alice", "alice@acme.test"],
    ["bob", "bob@acme.test"],
    ["olivia", "olivia@acme.test"],
  ] as const) {
    const u = await createUserWithPassword(prisma, email, "correct horse battery");
    users[handle] = { id: u.id, email: u.email, name: u.name };
  }
  await addMembership(prisma, users.alice.id, acme.id, "MEMBER", teamA.id);
  await addMembership(prisma, users.bob.id, acme.id, "VIEWER", teamB.id);
  await addMembership(prisma, users.olivia.id, acme.id, "ORG_ADMIN", null);
  const keyA1 = await createKey(prisma, teamA, "alpha-prod");
  const keyA2 = await createKey(prisma, teamA, "alpha-dev");
  const keyB = await createKey(prisma, teamB, "beta-prod");
  const keyC = await createKey(prisma, teamC, "gamma-prod");
  Object.assign(ids, {
    teamA: teamA.id,
    teamB: teamB.id,
    teamC: teamC.id,
    keyA1: keyA1.id,
    keyA2: keyA2.id,
    keyA1Prefix: keyA1.prefix,
  });

  const row = (
    key: { id: string; teamId: string; orgId: string },
    bucket: Date,
    model: string,
    provider: string,
    r: Partial<{
      requests: number;
      errors: number;
      cacheHits: number;
      unpricedRequests: number;
      inputTokens: bigint;
      outputTokens: bigint;
      costNanoUsd: bigint;
      requestedCostNanoUsd: bigint;
      cacheSavedNanoUsd: bigint;
      ttftMsSum: bigint;
      ttftCount: number;
      latencyHist: number[];
    }>,
  ) => ({ bucket, orgId: key.orgId, teamId: key.teamId, virtualKeyId: key.id, model, provider, ...r });

  await prisma.usageRollup.createMany({
    data: [
      row(keyA1, at(5), "gpt-4o-mini", "openai-main", {
        requests: 4,
        errors: 1,
        cacheHits: 1,
        inputTokens: 400n,
        outputTokens: 100n,
        costNanoUsd: 3_000_000_000n,
        requestedCostNanoUsd: 4_500_000_000n,
        cacheSavedNanoUsd: 500_000_000n,
        ttftMsSum: 300n,
        ttftCount: 2,
        latencyHist: hist([100, 2], [1000, 2]),
      }),
      row(keyA2, at(6), "claude-haiku", "anthropic", {
        requests: 6,
        inputTokens: 60n,
        outputTokens: 30n,
        costNanoUsd: 1_000_000_001n,
        latencyHist: hist([200, 6]),
      }),
      row(keyA1, at(7), "local-llama", "local", {
        requests: 2,
        unpricedRequests: 2,
        latencyHist: hist([25, 2]),
      }),
      row(keyB, at(7), "gpt-4o-mini", "openai-main", {
        requests: 10,
        errors: 5,
        costNanoUsd: 7_000_000_000n,
        latencyHist: hist([30000, 10]),
      }),
      row(keyC, at(7), "gpt-4o-mini", "openai-main", {
        requests: 100,
        costNanoUsd: 99_000_000_000n,
        latencyHist: hist([25, 100]),
      }),
      // The previous period (the 24 hours before `day`) and after the range.
      row(keyA1, at(-3), "gpt-4o-mini", "openai-main", { requests: 1, costNanoUsd: 250_000_000n }),
      row(keyA1, at(24), "gpt-4o-mini", "openai-main", { requests: 1000, costNanoUsd: 10n ** 12n }),
    ],
  });

  const attr = (
    team: { id: string; orgId: string },
    hour: number,
    dimension: string,
    value: string,
    requests: number,
    costNanoUsd: bigint,
    errors = 0,
  ) => ({ bucket: at(hour), orgId: team.orgId, teamId: team.id, dimension, value, requests, errors, costNanoUsd });
  await prisma.attributionRollup.createMany({
    data: [
      attr(teamA, 5, "user", "u-1", 3, 2_000_000_000n, 1),
      attr(teamA, 6, "user", "u-2", 2, 500_000_000n),
      attr(teamB, 7, "user", "u-1", 4, 1n),
      attr(teamA, 5, "tag:feature", "search", 5, 2_500_000_000n),
      attr(teamA, 6, "tag:feature", "chat, beta", 1, 100_000_000n),
      attr(teamA, 6, "tag:env", "prod", 6, 2_600_000_000n),
      attr(teamC, 7, "tag:secret-project", "x", 100, 99_000_000_000n),
      attr(teamC, 7, "user", "u-1", 100, 99_000_000_000n),
    ],
  });
});

afterAll(async () => prisma.$disconnect());

describe("usage.summary", () => {
  it("sums one team's rollups: spend, savings, cache hit rate, p50/p95, TTFT, unpriced, previous period", async () => {
    const s = await (await callerFor(users.alice)).usage.summary(range);
    expect(s).toMatchObject({
      requests: 12,
      errors: 1,
      cacheHits: 1,
      inputTokens: 460,
      outputTokens: 130,
      spendUsd: "4.000000001",
      cacheSavedUsd: "0.500000000",
      // 4.5 asked-for − 3.0 paid − 0.5 the cache saved, over the row whose requested cost is known.
      routingSavedUsd: "1.000000000",
      unpricedRequests: 2,
      // 12 latencies: 2 ≤25, 2 ≤100, 6 ≤200, 2 ≤1000 → the 6th is in ≤200, the 12th in ≤1000.
      p50LatencyMs: 200,
      p95LatencyMs: 1000,
      avgTtftMs: 150,
      previous: { requests: 1, spendUsd: "0.250000000", errorRate: 0, p95LatencyMs: null },
    });
    expect(s.errorRate).toBeCloseTo(1 / 12, 10);
    expect(s.cacheHitRate).toBeCloseTo(1 / 12, 10);
    expect(s.topModels.map((m) => [m.key, m.spendUsd, m.unpricedRequests])).toEqual([
      ["gpt-4o-mini", "3.000000000", 0],
      ["claude-haiku", "1.000000001", 0],
      ["local-llama", "0.000000000", 2],
    ]);
    expect(s.topTeams.map((t) => [t.label, t.requests])).toEqual([["Alpha", 12]]);
  });

  it("an org admin sees every team of the organisation and nothing of another", async () => {
    const s = await (await callerFor(users.olivia)).usage.summary(range);
    expect(s.requests).toBe(22);
    expect(s.spendUsd).toBe("11.000000001");
    expect(s.topTeams.map((t) => [t.label, t.spendUsd])).toEqual([
      ["Beta", "7.000000000"],
      ["Alpha", "4.000000001"],
    ]);
  });

  it("a member of team A gets nothing of team B", async () => {
    const alice = await callerFor(users.alice);
    await expectTrpcError(alice.usage.summary({ ...range, teamId: ids.teamB }), "FORBIDDEN");
    await expectTrpcError(alice.usage.breakdown({ ...range, groupBy: "model", teamId: ids.teamB }), "FORBIDDEN");
    await expectTrpcError(alice.usage.savings({ ...range, teamId: ids.teamC }), "FORBIDDEN");
    const bob = await (await callerFor(users.bob)).usage.summary(range);
    expect([bob.requests, bob.spendUsd]).toEqual([10, "7.000000000"]);
    const bobUsers = await (await callerFor(users.bob)).usage.breakdown({ ...range, groupBy: "user" });
    expect(bobUsers.map((u) => [u.key, u.requests, u.spendUsd])).toEqual([["u-1", 4, "0.000000001"]]);
  });

  it("rejects an empty range", async () => {
    await expectTrpcError(
      (await callerFor(users.alice)).usage.summary({ from: day, to: day }),
      "BAD_REQUEST",
    );
  });
});

describe("usage.breakdown", () => {
  it("by key: requests, error rate, spend, unpriced and percentiles per key, labelled by name", async () => {
    const rows = await (await callerFor(users.alice)).usage.breakdown({ ...range, groupBy: "key" });
    expect(rows.map((r) => [r.key, r.label, r.requests, r.errors, r.spendUsd, r.unpricedRequests])).toEqual([
      [ids.keyA1, `alpha-prod (${ids.keyA1Prefix}…)`, 6, 1, "3.000000000", 2],
      [ids.keyA2, expect.stringMatching(/^alpha-dev \(/), 6, 0, "1.000000001", 0],
    ]);
    expect(rows[0]?.errorRate).toBeCloseTo(1 / 6, 10);
    expect(rows[1]).toMatchObject({ p50LatencyMs: 200, p95LatencyMs: 200, cacheHitRate: 0, avgTtftMs: null });
  });

  it("by provider over two teams sums their histograms", async () => {
    const rows = await (await callerFor(users.olivia)).usage.breakdown({ ...range, groupBy: "provider" });
    const openai = rows.find((r) => r.key === "openai-main");
    // 2 ≤100, 2 ≤1000, 10 ≤30000: the 7th and the 14th are both in ≤30000.
    expect(openai).toMatchObject({
      requests: 14,
      errors: 6,
      spendUsd: "10.000000000",
      p50LatencyMs: 30000,
      p95LatencyMs: 30000,
      cacheSavedUsd: "0.500000000",
      routingSavedUsd: "1.000000000",
    });
    expect(rows.map((r) => r.key)).toEqual(["openai-main", "anthropic", "local"]);
  });

  it("by user and by tag come from the attribution rollups, team-scoped", async () => {
    const olivia = await callerFor(users.olivia);
    const byUser = await olivia.usage.breakdown({ ...range, groupBy: "user" });
    expect(byUser.map((r) => [r.key, r.requests, r.errors, r.spendUsd])).toEqual([
      ["u-1", 7, 1, "2.000000001"],
      ["u-2", 2, 0, "0.500000000"],
    ]);
    expect(byUser[0]).toMatchObject({ p95LatencyMs: null, cacheHitRate: null });
    const byFeature = await olivia.usage.breakdown({ ...range, groupBy: "tag:feature" });
    expect(byFeature.map((r) => [r.label, r.requests, r.spendUsd])).toEqual([
      ["search", 5, "2.500000000"],
      ["chat, beta", 1, "0.100000000"],
    ]);
    expect(await olivia.usage.tagDimensions(range)).toEqual(["tag:env", "tag:feature"]);
    expect(await olivia.usage.breakdown({ ...range, groupBy: "tag:secret-project" })).toEqual([]);
  });

  it("refuses a group-by it does not know", async () => {
    await expectTrpcError(
      (await callerFor(users.alice)).usage.breakdown({ ...range, groupBy: "org" }),
      "BAD_REQUEST",
    );
  });
});

describe("usage.savings", () => {
  it("reports routing and cache savings per team and month", async () => {
    const rows = await (await callerFor(users.olivia)).usage.savings({ from: at(-24), to: at(24) });
    expect(rows).toEqual([
      {
        teamId: ids.teamB,
        teamName: "Beta",
        month: "2025-03",
        spendUsd: "7.000000000",
        requestedCostUsd: "0.000000000",
        routingSavedUsd: "0.000000000",
        cacheSavedUsd: "0.000000000",
        totalSavedUsd: "0.000000000",
      },
      {
        teamId: ids.teamA,
        teamName: "Alpha",
        month: "2025-03",
        spendUsd: "4.250000001",
        requestedCostUsd: "4.500000000",
        routingSavedUsd: "1.000000000",
        cacheSavedUsd: "0.500000000",
        totalSavedUsd: "1.500000000",
      },
    ]);
  });
});

describe("usage.overview (time series)", () => {
  it("daily buckets are UTC days, gap-free", async () => {
    const { series, totals } = await (await callerFor(users.alice)).usage.overview({
      from: at(-24),
      to: at(48),
      granularity: "day",
    });
    expect(series.map((p) => [p.bucket.toISOString().slice(0, 10), p.requests, p.spendUsd])).toEqual([
      ["2025-03-09", 1, "0.250000000"],
      ["2025-03-10", 12, "4.000000001"],
      ["2025-03-11", 1000, "1000.000000000"],
    ]);
    expect(totals.unpricedRequests).toBe(2);
  });
});
