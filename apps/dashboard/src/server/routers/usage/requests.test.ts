import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient, type Role } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  callerFor,
  createKey,
  createMember,
  expectTrpcError,
  recordingServices,
} from "../../../../test/fixtures";
import type { SessionUser } from "../../trpc";

const REDIS_URL = "redis://127.0.0.1:6379/4";
const T0 = Date.parse("2026-11-20T12:00:00.000Z");
const MIN = 60_000;

type Handle = "olivia" | "adam" | "alice" | "vic" | "bob" | "otto";
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", other: "", alpha: "", beta: "", gamma: "", a1: "", a2: "" };
let prisma: PrismaClient;
const published: string[] = [];
const services = recordingServices(REDIS_URL, published, 7);

async function as(handle: Handle) {
  return callerFor(prisma, users[handle], services);
}

interface LogSeed {
  requestId: string;
  at: number;
  key: { id: string; teamId: string; orgId: string };
  requestedModel?: string;
  servedModel?: string | null;
  provider?: string | null;
  status?: number;
  errorClass?: string | null;
  cost?: bigint | null;
  requestedCost?: bigint | null;
  cacheStatus?: string;
  usageSource?: string;
  endUser?: string | null;
  tags?: Record<string, string>;
}

async function insertLogs(rows: LogSeed[]) {
  await prisma.requestLog.createMany({
    data: rows.map((r) => ({
      requestId: r.requestId,
      createdAt: new Date(r.at),
      orgId: r.key.orgId,
      teamId: r.key.teamId,
      virtualKeyId: r.key.id,
      endUser: r.endUser ?? null,
      tags: r.tags ?? {},
      endpoint: "chat.completions",
      requestedModel: r.requestedModel ?? "default-chat",
      servedModel: r.servedModel === undefined ? "gpt-4o-mini" : r.servedModel,
      provider: r.provider === undefined ? "openai-main" : r.provider,
      inputTokens: 2847,
      outputTokens: 612,
      usageSource: r.usageSource ?? "provider",
      costNanoUsd: r.cost === undefined ? 1_000n : r.cost,
      requestedCostNanoUsd: r.requestedCost ?? null,
      cacheStatus: r.cacheStatus ?? "miss",
      status: r.status ?? 200,
      errorClass: r.errorClass ?? null,
      latencyMs: 1247,
      ttftMs: 412,
      stream: true,
    })),
  });
}

const reqIds = (page: { items: { requestId: string }[] }) => page.items.map((r) => r.requestId);

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_explorer"));
  await truncateAll(prisma);
  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const alpha = await prisma.team.create({
    data: { orgId: acme.id, slug: "alpha", name: "Alpha" },
  });
  const beta = await prisma.team.create({ data: { orgId: acme.id, slug: "beta", name: "Beta" } });
  const gamma = await prisma.team.create({
    data: { orgId: other.id, slug: "gamma", name: "Gamma" },
  });
  Object.assign(ids, {
    acme: acme.id,
    other: other.id,
    alpha: alpha.id,
    beta: beta.id,
    gamma: gamma.id,
  });
  const people: [Handle, Role, string | null, string][] = [
    ["olivia", "ORG_ADMIN", null, acme.id],
    ["adam", "TEAM_ADMIN", alpha.id, acme.id],
    ["alice", "MEMBER", alpha.id, acme.id],
    ["vic", "VIEWER", alpha.id, acme.id],
    ["bob", "MEMBER", beta.id, acme.id],
    ["otto", "ORG_ADMIN", null, other.id],
  ];
  for (const [handle, role, teamId, orgId] of people)
    users[handle] = (
      await createMember(prisma, { email: `${handle}@explorer.test`, orgId, role, teamId })
    ).user;

  const a1 = await createKey(prisma, alpha, "alpha-app");
  const a2 = await createKey(prisma, alpha, "alpha-batch");
  const b1 = await createKey(prisma, beta, "beta-app");
  const c1 = await createKey(prisma, gamma, "gamma-app");
  Object.assign(ids, { a1: a1.id, a2: a2.id });

  await insertLogs([
    {
      requestId: "ra-ok",
      at: T0,
      key: a1,
      tags: { env: "prod", project: "search" },
      endUser: "u-1",
    },
    {
      requestId: "ra-hit",
      at: T0 + 1 * MIN,
      key: a1,
      cacheStatus: "hit",
      tags: { env: "dev" },
      endUser: "u-2",
    },
    {
      requestId: "ra-unpriced",
      at: T0 + 2 * MIN,
      key: a2,
      requestedModel: "local-llama",
      servedModel: "llama3",
      provider: "local",
      cost: null,
    },
    {
      requestId: "ra-est",
      at: T0 + 3 * MIN,
      key: a2,
      requestedModel: "claude-opus-4",
      servedModel: "claude-sonnet-4",
      provider: "anthropic",
      usageSource: "estimated",
      cost: 17_721_000n,
      requestedCost: 88_605_000n,
      tags: { env: "prod" },
    },
    {
      requestId: "ra-429",
      at: T0 + 4 * MIN,
      key: a1,
      status: 429,
      errorClass: "rate_limited",
      cost: 0n,
    },
    { requestId: "ra-499", at: T0 + 5 * MIN, key: a1, status: 499, errorClass: "client_closed" },
    {
      requestId: "ra-502",
      at: T0 + 6 * MIN,
      key: a1,
      status: 502,
      errorClass: "upstream_error",
      cost: null,
    },
    // Five rows in the same millisecond: only the id orders them, which the cursor must respect.
    ...[0, 1, 2, 3, 4].map((i) => ({ requestId: `ra-same-${i}`, at: T0 + 7 * MIN, key: a1 })),
    { requestId: "rb-1", at: T0 + 2 * MIN, key: b1, tags: { env: "prod" } },
    { requestId: "rc-1", at: T0 + 2 * MIN, key: c1, tags: { env: "prod" } },
  ]);
  await prisma.requestBody.create({
    data: {
      requestId: "ra-est",
      orgId: acme.id,
      teamId: alpha.id,
      createdAt: new Date(T0 + 3 * MIN),
      request: '{"messages":[{"role":"user","content":"mail me at [EMAIL]"}]}',
      response: '{"content":"Sure, [EMAIL] noted."}',
      redacted: true,
    },
  });
});

afterAll(async () => {
  await prisma?.$disconnect();
});

const ALPHA_NEWEST_FIRST = [
  // Same createdAt: higher id (inserted later) first.
  "ra-same-4",
  "ra-same-3",
  "ra-same-2",
  "ra-same-1",
  "ra-same-0",
  "ra-502",
  "ra-499",
  "ra-429",
  "ra-est",
  "ra-unpriced",
  "ra-hit",
  "ra-ok",
];

describe("usage.requests: keyset pagination", () => {
  it("walks every row of the team exactly once, newest first, across same-millisecond ties", async () => {
    const alice = await as("alice");
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await alice.usage.requests({ limit: 3, cursor });
      seen.push(...reqIds(page));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    expect(seen).toEqual(ALPHA_NEWEST_FIRST);
    expect(pages).toBe(4);
  });

  it("keeps the next page stable when newer requests arrive between pages", async () => {
    const alice = await as("alice");
    const first = await alice.usage.requests({ limit: 4 });
    expect(reqIds(first)).toEqual(ALPHA_NEWEST_FIRST.slice(0, 4));
    // Two new rows: one newer than everything, one in the same millisecond as the page's last row.
    const key = { id: ids.a1, teamId: ids.alpha, orgId: ids.acme };
    await insertLogs([
      { requestId: "ra-late-newest", at: T0 + 60 * MIN, key },
      { requestId: "ra-late-tie", at: T0 + 7 * MIN, key },
    ]);
    try {
      const second = await alice.usage.requests({ limit: 4, cursor: first.nextCursor });
      expect(reqIds(second)).toEqual(ALPHA_NEWEST_FIRST.slice(4, 8));
    } finally {
      await prisma.requestLog.deleteMany({
        where: { requestId: { in: ["ra-late-newest", "ra-late-tie"] } },
      });
    }
  });

  it("refuses a cursor that is not one", async () => {
    await expectTrpcError(
      (await as("alice")).usage.requests({ cursor: "12; DROP" }),
      "BAD_REQUEST",
    );
  });
});

describe("usage.requests: filters", () => {
  async function filtered(
    input: Parameters<Awaited<ReturnType<typeof as>>["usage"]["requests"]>[0],
    who: Handle = "alice",
  ) {
    return reqIds(await (await as(who)).usage.requests(input)).sort();
  }

  it("filters by date range (from included, to excluded)", async () => {
    expect(await filtered({ from: new Date(T0 + 2 * MIN), to: new Date(T0 + 4 * MIN) })).toEqual([
      "ra-est",
      "ra-unpriced",
    ]);
    await expectTrpcError(
      (await as("alice")).usage.requests({ from: new Date(T0), to: new Date(T0) }),
      "BAD_REQUEST",
    );
  });

  it("filters by key, by model asked for or served, and by provider", async () => {
    expect(await filtered({ keyId: ids.a2 })).toEqual(["ra-est", "ra-unpriced"]);
    expect(await filtered({ model: "claude-opus-4" })).toEqual(["ra-est"]);
    expect(await filtered({ model: "claude-sonnet-4" })).toEqual(["ra-est"]);
    expect(await filtered({ model: "local-llama" })).toEqual(["ra-unpriced"]);
    expect(await filtered({ provider: "local" })).toEqual(["ra-unpriced"]);
  });

  it("filters by status class, keeping 499 apart from 4xx", async () => {
    expect(await filtered({ statusClass: "4xx" })).toEqual(["ra-429"]);
    expect(await filtered({ statusClass: "499" })).toEqual(["ra-499"]);
    expect(await filtered({ statusClass: "5xx" })).toEqual(["ra-502"]);
    expect((await filtered({ statusClass: "2xx" })).length).toBe(9);
  });

  it("filters by end user, by tag key=value and by cache status", async () => {
    expect(await filtered({ user: "u-2" })).toEqual(["ra-hit"]);
    expect(await filtered({ tag: "env=prod" })).toEqual(["ra-est", "ra-ok"]);
    expect(await filtered({ tag: "project=search" })).toEqual(["ra-ok"]);
    expect(await filtered({ tag: "env=staging" })).toEqual([]);
    expect(await filtered({ cacheStatus: "hit" })).toEqual(["ra-hit"]);
    await expectTrpcError((await as("alice")).usage.requests({ tag: "env" }), "BAD_REQUEST");
  });

  it("filters unpriced, priced and estimated rows; an unpriced row has no cost, not $0", async () => {
    expect(await filtered({ pricing: "unpriced" })).toEqual(["ra-502", "ra-unpriced"]);
    expect(await filtered({ pricing: "estimated" })).toEqual(["ra-est"]);
    expect((await filtered({ pricing: "priced" })).length).toBe(10);
    const [row] = (await (await as("alice")).usage.requests({ search: "ra-unpriced" })).items;
    expect(row).toMatchObject({ costUsd: null, estimated: false, servedModel: "llama3" });
    const [est] = (await (await as("alice")).usage.requests({ search: "ra-est" })).items;
    expect(est).toMatchObject({ costUsd: "0.017721000", estimated: true, keyName: "alpha-batch" });
  });

  it("searches by exact request id or its start", async () => {
    expect(await filtered({ search: "ra-429" })).toEqual(["ra-429"]);
    expect(await filtered({ search: "ra-same-" })).toEqual([
      "ra-same-0",
      "ra-same-1",
      "ra-same-2",
      "ra-same-3",
      "ra-same-4",
    ]);
    expect(await filtered({ search: "rb-1" })).toEqual([]);
  });

  it("combines filters with AND and with the cursor", async () => {
    expect(await filtered({ keyId: ids.a1, tag: "env=prod", statusClass: "2xx" })).toEqual([
      "ra-ok",
    ]);
    const first = await (await as("alice")).usage.requests({ search: "ra-same-", limit: 2 });
    const second = await (
      await as("alice")
    ).usage.requests({ search: "ra-same-", limit: 2, cursor: first.nextCursor });
    expect([...reqIds(first), ...reqIds(second)]).toEqual([
      "ra-same-4",
      "ra-same-3",
      "ra-same-2",
      "ra-same-1",
    ]);
  });
});

describe("usage.requests: team isolation", () => {
  it("shows a team member only their team's requests, an org admin every team of the org", async () => {
    expect(reqIds(await (await as("bob")).usage.requests({}))).toEqual(["rb-1"]);
    expect(reqIds(await (await as("bob")).usage.requests({ tag: "env=prod" }))).toEqual(["rb-1"]);
    const olivia = reqIds(await (await as("olivia")).usage.requests({ tag: "env=prod" })).sort();
    expect(olivia).toEqual(["ra-est", "ra-ok", "rb-1"]);
    expect(reqIds(await (await as("otto")).usage.requests({}))).toEqual(["rc-1"]);
  });

  it("refuses a team the user cannot see, and a key filter cannot reach another team's rows", async () => {
    await expectTrpcError((await as("alice")).usage.requests({ teamId: ids.beta }), "FORBIDDEN");
    const b = await prisma.requestLog.findUniqueOrThrow({ where: { requestId: "rb-1" } });
    expect(reqIds(await (await as("alice")).usage.requests({ keyId: b.virtualKeyId }))).toEqual([]);
  });
});

describe("usage.request (detail)", () => {
  it("shows every field, the savings against the model asked for, and the redacted bodies", async () => {
    const d = await (await as("alice")).usage.request({ requestId: "ra-est" });
    expect(d.request).toMatchObject({
      requestId: "ra-est",
      requestedModel: "claude-opus-4",
      servedModel: "claude-sonnet-4",
      provider: "anthropic",
      estimated: true,
      usageSource: "estimated",
      costUsd: "0.017721000",
      tags: { env: "prod" },
      teamName: "Alpha",
      keyName: "alpha-batch",
      inputTokens: 2847,
      outputTokens: 612,
      ttftMs: 412,
    });
    // 0.088605 on claude-opus-4 − 0.017721 on claude-sonnet-4.
    expect(d.savings).toEqual({
      requestedCostUsd: "0.088605000",
      servedCostUsd: "0.017721000",
      savedUsd: "0.070884000",
    });
    expect(d.bodies).toMatchObject({ redacted: true, truncated: false });
    expect(d.bodies?.request).toContain("[EMAIL]");
  });

  it("says there is nothing to save when a side is unpriced, and carries no bodies when none were kept", async () => {
    const d = await (await as("alice")).usage.request({ requestId: "ra-unpriced" });
    expect(d.savings).toEqual({ requestedCostUsd: null, servedCostUsd: null, savedUsd: null });
    expect(d.bodies).toBeNull();
    expect(d.bodyLogging).toBe("off");
  });

  it("lists each upstream attempt of a request that failed over, and none for a clean one", async () => {
    const attempts = [
      {
        model: "claude-opus-4",
        provider: "anthropic",
        providerKey: "acct-a",
        status: 529,
        errorClass: "upstream_overloaded",
        durationMs: 120,
        waitMs: 0,
      },
      {
        model: "claude-sonnet-4",
        provider: "anthropic",
        providerKey: "acct-b",
        status: 200,
        errorClass: null,
        durationMs: 840,
        waitMs: 0,
      },
    ];
    await prisma.requestLog.update({
      where: { requestId: "ra-est" },
      data: { attempts: 2, attemptLog: attempts },
    });
    const d = await (await as("alice")).usage.request({ requestId: "ra-est" });
    expect(d.request.attempts).toBe(2);
    expect(d.attemptLog).toEqual(attempts);
    expect(
      (await (await as("alice")).usage.request({ requestId: "ra-unpriced" })).attemptLog,
    ).toEqual([]);
  });

  it("is NOT_FOUND for another team's request", async () => {
    await expectTrpcError((await as("bob")).usage.request({ requestId: "ra-est" }), "NOT_FOUND");
    await expectTrpcError((await as("otto")).usage.request({ requestId: "ra-est" }), "NOT_FOUND");
  });
});

describe("team body logging", () => {
  it("lets team admins and org admins set it, tells the proxies, and shows it on the team", async () => {
    const before = published.length;
    const updated = await (
      await as("adam")
    ).teams.update({ teamId: ids.alpha, bodyLogging: "redacted" });
    expect(updated.bodyLogging).toBe("redacted");
    expect(published.slice(before)).toEqual(["teams"]);
    await (await as("olivia")).teams.update({ teamId: ids.alpha, bodyLogging: "full" });
    expect((await prisma.team.findUniqueOrThrow({ where: { id: ids.alpha } })).bodyLogging).toBe(
      "full",
    );
    expect((await (await as("vic")).teams.list({ teamId: ids.alpha }))[0]?.bodyLogging).toBe(
      "full",
    );
    expect(
      (await (await as("alice")).usage.request({ requestId: "ra-unpriced" })).bodyLogging,
    ).toBe("full");
    await (await as("olivia")).teams.update({ teamId: ids.alpha, bodyLogging: "off" });
  });

  it("refuses viewers, members and other teams, and values that are not a mode", async () => {
    const before = published.length;
    await expectTrpcError(
      (await as("vic")).teams.update({ teamId: ids.alpha, bodyLogging: "full" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("alice")).teams.update({ teamId: ids.alpha, bodyLogging: "full" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("bob")).teams.update({ teamId: ids.alpha, bodyLogging: "full" }),
      "NOT_FOUND",
    );
    await expectTrpcError(
      (await as("adam")).teams.update({ teamId: ids.alpha, bodyLogging: "everything" as "full" }),
      "BAD_REQUEST",
    );
    expect((await prisma.team.findUniqueOrThrow({ where: { id: ids.alpha } })).bodyLogging).toBe(
      "off",
    );
    expect(published.length).toBe(before);
  });
});
