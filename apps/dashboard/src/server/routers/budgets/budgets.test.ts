import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient, type Role } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { MAX_NANO_USD, periodEnd, periodStart } from "@switchyard/limits";
import {
  callerFor,
  createKey,
  createMember,
  expectTrpcError,
  insertRequestLog,
  recordingServices,
} from "../../../../test/fixtures";
import type { SessionUser } from "../../trpc";
import { parseUsdAmount } from "./shared";

const REDIS_URL = "redis://127.0.0.1:6379/4";
// Far from UTC, so a period computed in UTC would start at a different instant.
const TIME_ZONE = "Pacific/Auckland";

type Handle = "owner" | "adminA" | "alice" | "vic" | "vera" | "bob" | "adminB" | "outsider";
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", other: "", teamA: "", teamB: "", keyA: "", keyB: "" };
let prisma: PrismaClient;
const published: string[] = [];

const services = recordingServices(REDIS_URL, published, 1);

async function as(handle: Handle | null) {
  return callerFor(prisma, handle ? users[handle] : null, services);
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_budgets"));
  await truncateAll(prisma);
  const acme = await prisma.organization.create({
    data: { slug: "acme", name: "Acme", timeZone: TIME_ZONE },
  });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const teamA = await prisma.team.create({
    data: { orgId: acme.id, slug: "alpha", name: "Alpha" },
  });
  const teamB = await prisma.team.create({ data: { orgId: acme.id, slug: "beta", name: "Beta" } });
  await prisma.team.create({ data: { orgId: other.id, slug: "gamma", name: "Gamma" } });
  const keyA = await createKey(prisma, teamA, "alpha-prod");
  const keyB = await createKey(prisma, teamB, "beta-prod");
  Object.assign(ids, {
    acme: acme.id,
    other: other.id,
    teamA: teamA.id,
    teamB: teamB.id,
    keyA: keyA.id,
    keyB: keyB.id,
  });
  const people: [Handle, Role, string | null, string][] = [
    ["owner", "ORG_OWNER", null, acme.id],
    ["adminA", "TEAM_ADMIN", teamA.id, acme.id],
    ["alice", "MEMBER", teamA.id, acme.id],
    ["vic", "VIEWER", teamA.id, acme.id],
    ["vera", "VIEWER", null, acme.id],
    ["bob", "MEMBER", teamB.id, acme.id],
    ["adminB", "TEAM_ADMIN", teamB.id, acme.id],
    ["outsider", "ORG_ADMIN", null, other.id],
  ];
  for (const [handle, role, teamId, orgId] of people) {
    const m = await createMember(prisma, { email: `${handle}@acme.test`, orgId, role, teamId });
    users[handle] = m.user;
  }
});

afterAll(async () => prisma?.$disconnect());

describe("budget amounts", () => {
  it("parses decimal USD to exact nano-USD", () => {
    expect(parseUsdAmount("12.5")).toBe(12_500_000_000n);
    expect(parseUsdAmount(" 3 ")).toBe(3_000_000_000n);
    expect(parseUsdAmount("0.000000001")).toBe(1n);
    expect(parseUsdAmount("0.1")).toBe(100_000_000n);
    expect(parseUsdAmount("1234567.123456789")).toBe(1_234_567_123_456_789n);
    expect(parseUsdAmount("9007199")).toBe(9_007_199_000_000_000n);
    expect(parseUsdAmount("9007199.254740991")).toBe(MAX_NANO_USD);
  });

  it("rejects negative, zero, too precise, too large and malformed amounts", () => {
    for (const bad of [
      "-1",
      "0",
      "0.000000000",
      "1.0000000001",
      "9007199.254740992",
      "9007200",
      "1e3",
      "abc",
      "",
      "1.",
      ".5",
      "1,5",
    ])
      expect(typeof parseUsdAmount(bad), bad).toBe("string");
    expect(parseUsdAmount("-1")).toBe("The amount cannot be negative.");
  });
});

describe("budgets.create*", () => {
  it("lets a team admin create a team budget with default thresholds and recipients normalised", async () => {
    const before = published.length;
    const { id } = await (
      await as("adminA")
    ).budgets.createForTeam({
      teamId: ids.teamA,
      amountUsd: "100.25",
      period: "month",
      recipients: ["Finance@Acme.test", "finance@acme.test", "cto@acme.test"],
    });
    const row = await prisma.budget.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({
      orgId: ids.acme,
      scope: "TEAM",
      teamId: ids.teamA,
      virtualKeyId: null,
      amountNanoUsd: 100_250_000_000n,
      period: "MONTH",
      hard: true,
      thresholds: [50, 80, 100],
      recipients: ["finance@acme.test", "cto@acme.test"],
      notifyTeamAdmins: true,
    });
    expect(published.slice(before)).toEqual(["budgets"]);
  });

  it("creates a soft key budget with sorted thresholds, and refuses a second one for the same period", async () => {
    const admin = await as("adminA");
    const { id } = await admin.budgets.createForTeam({
      teamId: ids.teamA,
      keyId: ids.keyA,
      amountUsd: "0.5",
      period: "day",
      hard: false,
      thresholds: [90, 25],
      notifyTeamAdmins: false,
    });
    expect(await prisma.budget.findUniqueOrThrow({ where: { id } })).toMatchObject({
      scope: "KEY",
      teamId: null,
      virtualKeyId: ids.keyA,
      amountNanoUsd: 500_000_000n,
      period: "DAY",
      hard: false,
      thresholds: [25, 90],
      notifyTeamAdmins: false,
    });
    await expectTrpcError(
      admin.budgets.createForTeam({
        teamId: ids.teamA,
        keyId: ids.keyA,
        amountUsd: "1",
        period: "day",
      }),
      "CONFLICT",
    );
  });

  it("rejects bad thresholds, recipients and amounts", async () => {
    const admin = await as("adminA");
    const base = { teamId: ids.teamA, period: "week" as const };
    for (const extra of [
      { amountUsd: "10", thresholds: [50, 50] },
      { amountUsd: "10", thresholds: [0] },
      { amountUsd: "10", thresholds: [101] },
      { amountUsd: "10", thresholds: [50.5] },
      { amountUsd: "10", recipients: ["not-an-email"] },
      { amountUsd: "-10" },
      { amountUsd: "10.0000000001" },
      { amountUsd: "9007200" },
    ])
      await expectTrpcError(admin.budgets.createForTeam({ ...base, ...extra }), "BAD_REQUEST");
    expect(await prisma.budget.count({ where: { period: "WEEK" } })).toBe(0);
  });

  it("keeps members, viewers, other teams and other orgs out", async () => {
    const input = { teamId: ids.teamA, amountUsd: "10", period: "week" as const };
    await expectTrpcError((await as("alice")).budgets.createForTeam(input), "FORBIDDEN");
    await expectTrpcError((await as("vic")).budgets.createForTeam(input), "FORBIDDEN");
    await expectTrpcError((await as("vera")).budgets.createForTeam(input), "FORBIDDEN");
    await expectTrpcError((await as("bob")).budgets.createForTeam(input), "NOT_FOUND");
    await expectTrpcError((await as("adminB")).budgets.createForTeam(input), "NOT_FOUND");
    await expectTrpcError((await as("outsider")).budgets.createForTeam(input), "NOT_FOUND");
    await expectTrpcError((await as(null)).budgets.createForTeam(input), "UNAUTHORIZED");
    // Team B's admin cannot reach team A's key through their own team.
    await expectTrpcError(
      (await as("adminB")).budgets.createForTeam({
        teamId: ids.teamB,
        keyId: ids.keyA,
        amountUsd: "1",
        period: "week",
      }),
      "NOT_FOUND",
    );
    const org = { orgId: ids.acme, amountUsd: "1000", period: "month" as const };
    await expectTrpcError((await as("adminA")).budgets.createForOrg(org), "FORBIDDEN");
    await expectTrpcError((await as("vera")).budgets.createForOrg(org), "FORBIDDEN");
    await expectTrpcError((await as("outsider")).budgets.createForOrg(org), "NOT_FOUND");
    expect(await prisma.budget.count({ where: { period: "WEEK" } })).toBe(0);
    expect(await prisma.budget.count({ where: { scope: "ORG" } })).toBe(0);
  });

  it("lets an org owner create an org budget", async () => {
    const { id } = await (
      await as("owner")
    ).budgets.createForOrg({
      orgId: ids.acme,
      amountUsd: "9007199.254740991",
      period: "month",
      thresholds: [100],
    });
    expect(await prisma.budget.findUniqueOrThrow({ where: { id } })).toMatchObject({
      scope: "ORG",
      amountNanoUsd: MAX_NANO_USD,
      thresholds: [100],
    });
    await (
      await as("adminB")
    ).budgets.createForTeam({ teamId: ids.teamB, amountUsd: "20", period: "week" });
  });
});

describe("budgets.list", () => {
  it("shows the current period's spend from the request log, in the org's time zone", async () => {
    const now = new Date();
    const start = periodStart("month", TIME_ZONE, now);
    const key = await prisma.virtualKey.findUniqueOrThrow({ where: { id: ids.keyA } });
    const keyB = await prisma.virtualKey.findUniqueOrThrow({ where: { id: ids.keyB } });
    await insertRequestLog(prisma, key, { createdAt: start, costNanoUsd: 1_000_000_001n });
    await insertRequestLog(prisma, key, {
      createdAt: new Date(now.getTime() - 1000),
      costNanoUsd: 2n,
    });
    await insertRequestLog(prisma, key, {
      createdAt: new Date(now.getTime() - 1000),
      costNanoUsd: null,
    });
    // Just before the period: not counted.
    await insertRequestLog(prisma, key, {
      createdAt: new Date(start.getTime() - 1),
      costNanoUsd: 7_000_000_000n,
    });
    await insertRequestLog(prisma, keyB, {
      createdAt: new Date(now.getTime() - 1000),
      costNanoUsd: 5_000_000_000n,
    });

    const list = await (await as("adminA")).budgets.list({});
    const team = list.find((b) => b.scope === "team" && b.teamId === ids.teamA)!;
    expect(team).toMatchObject({
      teamName: "Alpha",
      amountUsd: "100.250000000",
      spentUsd: "1.000000003",
      period: "month",
      timeZone: TIME_ZONE,
      canManage: true,
    });
    expect(team.periodStart).toEqual(start);
    expect(team.resetsAt).toEqual(periodEnd("month", TIME_ZONE, now));
    expect(team.spentRatio).toBeCloseTo(1.000000003 / 100.25, 6);
    const org = list.find((b) => b.scope === "org")!;
    expect(org.spentUsd).toBe("6.000000003");
    expect(org.canManage).toBe(false);
    const keyBudget = list.find((b) => b.scope === "key")!;
    expect(keyBudget).toMatchObject({
      keyId: ids.keyA,
      keyName: "alpha-prod",
      teamId: ids.teamA,
      period: "day",
    });
  });

  it("shows each user only what they can read", async () => {
    const scopes = async (h: Handle) =>
      (await (await as(h)).budgets.list({}))
        .map((b) => `${b.scope}:${b.teamName ?? b.orgName}:${b.canManage}`)
        .sort();
    expect(await scopes("alice")).toEqual([
      "key:Alpha:false",
      "org:Acme:false",
      "team:Alpha:false",
    ]);
    expect(await scopes("bob")).toEqual(["org:Acme:false", "team:Beta:false"]);
    expect(await scopes("adminB")).toEqual(["org:Acme:false", "team:Beta:true"]);
    expect(await scopes("vera")).toEqual([
      "key:Alpha:false",
      "org:Acme:false",
      "team:Alpha:false",
      "team:Beta:false",
    ]);
    expect(await scopes("owner")).toEqual([
      "key:Alpha:true",
      "org:Acme:true",
      "team:Alpha:true",
      "team:Beta:true",
    ]);
    expect(await scopes("outsider")).toEqual([]);
    // Narrowed to a team: that team's budgets only.
    expect(
      (await (await as("alice")).budgets.list({ teamId: ids.teamA })).map((b) => b.scope).sort(),
    ).toEqual(["key", "team"]);
    await expectTrpcError((await as("bob")).budgets.list({ teamId: ids.teamA }), "FORBIDDEN");
  });
});

describe("budgets.update and budgets.delete", () => {
  it("lets the team admin change a budget and refuses everyone else", async () => {
    const budget = await prisma.budget.findFirstOrThrow({
      where: { scope: "TEAM", teamId: ids.teamA },
    });
    const change = { budgetId: budget.id, amountUsd: "250", hard: false, thresholds: [75] };
    await expectTrpcError((await as("alice")).budgets.update(change), "FORBIDDEN");
    await expectTrpcError((await as("vic")).budgets.update(change), "FORBIDDEN");
    await expectTrpcError((await as("bob")).budgets.update(change), "NOT_FOUND");
    await expectTrpcError((await as("adminB")).budgets.update(change), "NOT_FOUND");
    await expectTrpcError((await as("outsider")).budgets.update(change), "NOT_FOUND");
    expect(
      (await prisma.budget.findUniqueOrThrow({ where: { id: budget.id } })).amountNanoUsd,
    ).toBe(100_250_000_000n);
    const before = published.length;
    await (await as("adminA")).budgets.update(change);
    expect(await prisma.budget.findUniqueOrThrow({ where: { id: budget.id } })).toMatchObject({
      amountNanoUsd: 250_000_000_000n,
      hard: false,
      thresholds: [75],
      recipients: ["finance@acme.test", "cto@acme.test"],
    });
    expect(published.slice(before)).toEqual(["budgets"]);
    await expectTrpcError(
      (await as("adminA")).budgets.update({ budgetId: budget.id, amountUsd: "0" }),
      "BAD_REQUEST",
    );
  });

  it("keeps org budgets to org admins", async () => {
    const org = await prisma.budget.findFirstOrThrow({ where: { scope: "ORG" } });
    await expectTrpcError(
      (await as("adminA")).budgets.update({ budgetId: org.id, amountUsd: "1" }),
      "FORBIDDEN",
    );
    await expectTrpcError((await as("adminA")).budgets.delete({ budgetId: org.id }), "FORBIDDEN");
    await expectTrpcError((await as("outsider")).budgets.delete({ budgetId: org.id }), "NOT_FOUND");
    await (await as("owner")).budgets.update({ budgetId: org.id, period: "week" });
    expect((await prisma.budget.findUniqueOrThrow({ where: { id: org.id } })).period).toBe("WEEK");
  });

  it("refuses a period change that would clash with another budget of the scope", async () => {
    const admin = await as("adminA");
    const { id } = await admin.budgets.createForTeam({
      teamId: ids.teamA,
      amountUsd: "5",
      period: "day",
    });
    await expectTrpcError(admin.budgets.update({ budgetId: id, period: "month" }), "CONFLICT");
    await expectTrpcError((await as("alice")).budgets.delete({ budgetId: id }), "FORBIDDEN");
    await expectTrpcError((await as("bob")).budgets.delete({ budgetId: id }), "NOT_FOUND");
    await admin.budgets.delete({ budgetId: id });
    expect(await prisma.budget.findUnique({ where: { id } })).toBeNull();
  });
});

describe("alerts.list", () => {
  it("lists alerts of readable budgets only, newest first, with the amounts at the time", async () => {
    const teamA = await prisma.budget.findFirstOrThrow({
      where: { scope: "TEAM", teamId: ids.teamA },
    });
    const teamB = await prisma.budget.findFirstOrThrow({
      where: { scope: "TEAM", teamId: ids.teamB },
    });
    const org = await prisma.budget.findFirstOrThrow({ where: { scope: "ORG" } });
    const periodStartAt = new Date("2026-11-01T00:00:00Z");
    const sent = (m: number) => new Date(Date.UTC(2026, 10, 20, 12, m));
    await prisma.alertEvent.createMany({
      data: [
        {
          budgetId: teamA.id,
          periodStart: periodStartAt,
          threshold: 50,
          spentNanoUsd: 50_100_000_000n,
          limitNanoUsd: 100_000_000_000n,
          recipients: ["a@acme.test"],
          sentAt: sent(1),
        },
        {
          budgetId: teamA.id,
          periodStart: periodStartAt,
          threshold: 80,
          spentNanoUsd: 80_000_000_001n,
          limitNanoUsd: 100_000_000_000n,
          recipients: ["a@acme.test"],
          sentAt: sent(3),
        },
        {
          budgetId: teamB.id,
          periodStart: periodStartAt,
          threshold: 50,
          spentNanoUsd: 10n,
          limitNanoUsd: 20n,
          recipients: ["b@acme.test"],
          sentAt: sent(2),
        },
        {
          budgetId: org.id,
          periodStart: periodStartAt,
          threshold: 100,
          spentNanoUsd: 1n,
          limitNanoUsd: 1n,
          recipients: ["o@acme.test"],
          sentAt: sent(0),
        },
      ],
    });
    const forAlice = await (await as("alice")).alerts.list({});
    expect(forAlice.map((a) => [a.target, a.threshold])).toEqual([
      ["Alpha", 80],
      ["Alpha", 50],
      ["Acme", 100],
    ]);
    expect(forAlice[0]).toMatchObject({
      scope: "team",
      period: "month",
      spentUsd: "80.000000001",
      limitUsd: "100.000000000",
      recipients: ["a@acme.test"],
      sentAt: sent(3),
      periodStart: periodStartAt,
    });
    expect((await (await as("bob")).alerts.list({})).map((a) => a.target)).toEqual([
      "Beta",
      "Acme",
    ]);
    expect(await (await as("outsider")).alerts.list({})).toEqual([]);
    expect(
      (await (await as("alice")).alerts.list({ teamId: ids.teamA })).map((a) => a.target),
    ).toEqual(["Alpha", "Alpha"]);
    await expectTrpcError((await as("bob")).alerts.list({ teamId: ids.teamA }), "FORBIDDEN");
    await expectTrpcError((await as(null)).alerts.list({}), "UNAUTHORIZED");
  });
});
