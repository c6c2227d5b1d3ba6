import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  addMembership,
  createKey,
  createUserWithPassword,
  expectTrpcError,
  insertRequestLog,
  insertRollups,
} from "../../test/fixtures";
import { createCaller } from "./root";
import { createContextForUser, type SessionUser } from "./trpc";

let prisma: PrismaClient;
const users: Record<"alice" | "bob" | "olivia" | "nobody", SessionUser> = {} as never;
const ids = { teamA: "", teamB: "", teamC: "", keyA1: "", keyA2: "", keyB: "", keyC: "" };

const day = new Date("2025-03-10T00:00:00.000Z");
const at = (hour: number, minute = 0) =>
  new Date(day.getTime() + hour * 3_600_000 + minute * 60_000);
const window24h = { from: day, to: at(24), granularity: "hour" as const };

async function callerFor(user: SessionUser | null) {
  return createCaller(await createContextForUser(prisma, user));
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard"));
  await truncateAll(prisma);

  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme Corp" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other Inc" } });
  const teamA = await prisma.team.create({
    data: { orgId: acme.id, slug: "alpha", name: "Alpha" },
  });
  const teamB = await prisma.team.create({ data: { orgId: acme.id, slug: "beta", name: "Beta" } });
  const teamC = await prisma.team.create({
    data: { orgId: other.id, slug: "gamma", name: "Gamma" },
  });
  Object.assign(ids, { teamA: teamA.id, teamB: teamB.id, teamC: teamC.id });

  for (const [handle, email] of [
    ["alice", "alice@acme.test"],
    ["bob", "bob@acme.test"],
    ["olivia", "olivia@acme.test"],
    ["nobody", "nobody@acme.test"],
  ] as const) {
    const u = await createUserWithPassword(prisma, email, "correct horse battery");
    users[handle] = { id: u.id, email: u.email, name: u.name };
  }
  await addMembership(prisma, users.alice.id, acme.id, "MEMBER", teamA.id);
  await addMembership(prisma, users.bob.id, acme.id, "TEAM_ADMIN", teamB.id);
  await addMembership(prisma, users.olivia.id, acme.id, "ORG_ADMIN", null);
  // Org-wide but not an admin role: sees no team.
  await addMembership(prisma, users.nobody.id, acme.id, "MEMBER", null);

  const keyA1 = await createKey(prisma, teamA, "alpha-prod", {
    allowedModels: ["gpt-4o-mini"],
    rpmLimit: 60,
  });
  const keyA2 = await createKey(prisma, teamA, "alpha-dev");
  const keyB = await createKey(prisma, teamB, "beta-prod");
  const keyC = await createKey(prisma, teamC, "gamma-prod");
  Object.assign(ids, { keyA1: keyA1.id, keyA2: keyA2.id, keyB: keyB.id, keyC: keyC.id });

  await insertRollups(prisma, [
    {
      bucket: at(5),
      key: keyA1,
      requests: 3,
      errors: 1,
      inputTokens: 300n,
      outputTokens: 90n,
      costNanoUsd: 1_234_567_890n,
    },
    {
      bucket: at(5),
      key: keyA2,
      model: "claude-haiku",
      requests: 2,
      inputTokens: 40n,
      outputTokens: 10n,
      costNanoUsd: 10_000_000n,
    },
    {
      bucket: at(7),
      key: keyA1,
      requests: 1,
      unpricedRequests: 1,
      inputTokens: 5n,
      outputTokens: 5n,
      costNanoUsd: 0n,
    },
    {
      bucket: at(7),
      key: keyB,
      requests: 5,
      errors: 2,
      inputTokens: 1000n,
      outputTokens: 500n,
      costNanoUsd: 2_000_000_001n,
    },
    {
      bucket: at(7),
      key: keyC,
      requests: 100,
      inputTokens: 1n,
      outputTokens: 1n,
      costNanoUsd: 99_000_000_000n,
    },
    // Outside the 24h window: must not count.
    { bucket: at(24), key: keyA1, requests: 1000, costNanoUsd: 1_000_000_000_000n },
  ]);

  for (let i = 0; i < 5; i++)
    await insertRequestLog(prisma, keyA1, {
      requestId: `a-${i}`,
      createdAt: at(5, i),
      costNanoUsd: 1_000n * BigInt(i + 1),
    });
  await insertRequestLog(prisma, keyA2, {
    requestId: "a-unpriced",
    createdAt: at(6),
    costNanoUsd: null,
    requestedModel: "local-llama",
    servedModel: "llama3",
  });
  await insertRequestLog(prisma, keyB, {
    requestId: "b-0",
    createdAt: at(7),
    costNanoUsd: 5n,
    status: 502,
  });
  await insertRequestLog(prisma, keyC, { requestId: "c-0", createdAt: at(7), costNanoUsd: 5n });
});

afterAll(async () => prisma.$disconnect());

describe("authorization", () => {
  it("rejects anonymous callers with UNAUTHORIZED on every router", async () => {
    const anon = await callerFor(null);
    await expectTrpcError(anon.me.get(), "UNAUTHORIZED");
    await expectTrpcError(anon.keys.list({}), "UNAUTHORIZED");
    await expectTrpcError(anon.usage.overview(window24h), "UNAUTHORIZED");
    await expectTrpcError(anon.usage.requests({}), "UNAUTHORIZED");
  });

  it("forbids narrowing to a team the user cannot see", async () => {
    const alice = await callerFor(users.alice);
    await expectTrpcError(alice.keys.list({ teamId: ids.teamB }), "FORBIDDEN");
    await expectTrpcError(alice.usage.overview({ ...window24h, teamId: ids.teamB }), "FORBIDDEN");
    const olivia = await callerFor(users.olivia);
    await expectTrpcError(olivia.usage.requests({ teamId: ids.teamC }), "FORBIDDEN");
  });

  it("an org-wide MEMBER (not owner/admin) sees no team", async () => {
    const nobody = await callerFor(users.nobody);
    expect(await nobody.keys.list({})).toEqual([]);
    expect((await nobody.usage.overview(window24h)).totals.requests).toBe(0);
  });
});

describe("keys.list", () => {
  it("shows a team member only their team's keys, without any hash", async () => {
    const keys = await (await callerFor(users.alice)).keys.list({});
    expect(keys.map((k) => k.name).sort()).toEqual(["alpha-dev", "alpha-prod"]);
    const prod = keys.find((k) => k.name === "alpha-prod");
    expect(prod).toMatchObject({
      teamName: "Alpha",
      allowedModels: ["gpt-4o-mini"],
      rpmLimit: 60,
      revokedAt: null,
    });
    expect(prod?.prefix).toMatch(/^sk-sy-/);
    const json = JSON.stringify(keys);
    expect(json).not.toContain("keyHash");
    expect(json).not.toContain("ffffffff");
  });

  it("shows team B's member only team B", async () => {
    const keys = await (await callerFor(users.bob)).keys.list({});
    expect(keys.map((k) => k.name)).toEqual(["beta-prod"]);
  });

  it("shows an org admin every team of their org and nothing of another org", async () => {
    const olivia = await callerFor(users.olivia);
    expect((await olivia.keys.list({})).map((k) => k.name).sort()).toEqual([
      "alpha-dev",
      "alpha-prod",
      "beta-prod",
    ]);
    expect((await olivia.keys.list({ teamId: ids.teamB })).map((k) => k.name)).toEqual([
      "beta-prod",
    ]);
  });
});

describe("usage.overview", () => {
  it("totals equal the sum of the visible team's rollups, to the nano-dollar", async () => {
    const { totals } = await (await callerFor(users.alice)).usage.overview(window24h);
    expect(totals).toEqual({
      requests: 6,
      errors: 1,
      errorRate: 1 / 6,
      inputTokens: 345,
      outputTokens: 105,
      spendUsd: "1.244567890",
      unpricedRequests: 1,
    });
  });

  it("an org admin's totals add both teams and exclude the other org", async () => {
    const { totals } = await (await callerFor(users.olivia)).usage.overview(window24h);
    expect(totals.requests).toBe(11);
    expect(totals.errors).toBe(3);
    // 1.234567890 + 0.010000000 + 2.000000001: exact, no float drift.
    expect(totals.spendUsd).toBe("3.244567891");
  });

  it("returns a gap-free hourly series whose points sum to the totals", async () => {
    const { series, totals } = await (await callerFor(users.olivia)).usage.overview(window24h);
    expect(series).toHaveLength(24);
    expect(series[0]?.bucket.toISOString()).toBe("2025-03-10T00:00:00.000Z");
    expect(series[5]).toMatchObject({ requests: 5, errors: 1, spendUsd: "1.244567890" });
    expect(series[7]).toMatchObject({ requests: 6, errors: 2, spendUsd: "2.000000001" });
    expect(series[6]).toMatchObject({ requests: 0, spendUsd: "0.000000000" });
    expect(series.reduce((n, p) => n + p.requests, 0)).toBe(totals.requests);
  });

  it("folds hours into UTC days", async () => {
    const { series } = await (
      await callerFor(users.olivia)
    ).usage.overview({ from: at(-48), to: at(48), granularity: "day" });
    expect(series.map((p) => [p.bucket.toISOString().slice(0, 10), p.requests])).toEqual([
      ["2025-03-08", 0],
      ["2025-03-09", 0],
      ["2025-03-10", 11],
      ["2025-03-11", 1000],
    ]);
  });

  it("rejects an inverted range", async () => {
    await expectTrpcError(
      (await callerFor(users.alice)).usage.overview({
        from: at(2),
        to: at(1),
        granularity: "hour",
      }),
      "BAD_REQUEST",
    );
  });
});

describe("usage.requests", () => {
  it("pages through the visible request log newest first", async () => {
    const alice = await callerFor(users.alice);
    const first = await alice.usage.requests({ limit: 4 });
    expect(first.items.map((r) => r.requestId)).toEqual(["a-unpriced", "a-4", "a-3", "a-2"]);
    expect(first.nextCursor).not.toBeNull();
    const second = await alice.usage.requests({ limit: 4, cursor: first.nextCursor });
    expect(second.items.map((r) => r.requestId)).toEqual(["a-1", "a-0"]);
    expect(second.nextCursor).toBeNull();
  });

  it("reports unpriced rows as null cost and priced ones exactly", async () => {
    const { items } = await (await callerFor(users.alice)).usage.requests({});
    const unpriced = items.find((r) => r.requestId === "a-unpriced");
    expect(unpriced).toMatchObject({
      costUsd: null,
      requestedModel: "local-llama",
      servedModel: "llama3",
      keyName: "alpha-dev",
      teamName: "Alpha",
    });
    expect(items.find((r) => r.requestId === "a-4")?.costUsd).toBe("0.000005000");
  });

  it("keeps team B's rows from team A's member and shows both to the org admin", async () => {
    const bob = await (await callerFor(users.bob)).usage.requests({});
    expect(bob.items.map((r) => r.requestId)).toEqual(["b-0"]);
    const olivia = await (await callerFor(users.olivia)).usage.requests({});
    expect(olivia.items.map((r) => r.requestId)).toContain("b-0");
    expect(olivia.items.map((r) => r.requestId)).toContain("a-0");
    expect(olivia.items.map((r) => r.requestId)).not.toContain("c-0");
  });
});

describe("me.get", () => {
  it("returns the user and their organisation", async () => {
    const me = await (await callerFor(users.olivia)).me.get();
    expect(me).toMatchObject({
      email: "olivia@acme.test",
      memberships: [{ orgName: "Acme Corp", orgSlug: "acme", role: "ORG_ADMIN", teamId: null }],
    });
  });
});
