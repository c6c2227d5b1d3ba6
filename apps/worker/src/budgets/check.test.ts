import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { ParsedMail, AddressObject } from "mailparser";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { createProducerConnection } from "@switchyard/jobs";
import { raiseBudgetSpent, readBudget } from "@switchyard/limits";
import type { UsageEvent } from "@switchyard/contracts";
import { writeUsageBatch } from "../usage/ingest";
import { TEST_REDIS_URL, usageEvent } from "../testing/fixtures";
import { startTestSmtpServer, type TestSmtpServer } from "../testing/smtp";
import { alertRecipients, loadBudgets, type Clock } from "./budgets";
import { checkBudgets, type BudgetCheckDeps } from "./check";
import { createSmtpMailer, type AlertMailer } from "./mailer";

const USD = 1_000_000_000n;
// Berlin: November 2026 runs from 2026-10-31T23:00Z to 2026-11-30T23:00Z.
const NOV_START = new Date("2026-10-31T23:00:00.000Z");
const NOW = new Date("2026-11-20T12:00:00.000Z");

let databaseUrl: string;
let prisma: PrismaClient;
let redis: Redis;
let smtp: TestSmtpServer;
let prefix: string;
const mailers: AlertMailer[] = [];
const extraClients: PrismaClient[] = [];

beforeAll(async () => {
  databaseUrl = await prepareTestDatabase("switchyard_test_worker_budgets");
  prisma = createPrismaClient(databaseUrl);
  redis = createProducerConnection(TEST_REDIS_URL);
});
afterAll(async () => {
  await redis.quit();
  await prisma.$disconnect();
});
beforeEach(async () => {
  await truncateAll(prisma);
  await redis.flushdb();
  prefix = `test:${randomUUID()}:`;
  smtp = await startTestSmtpServer();
});
afterEach(async () => {
  for (const m of mailers.splice(0)) m.close();
  for (const c of extraClients.splice(0)) await c.$disconnect();
  await smtp.close();
});

function fixedClock(at: Date): Clock {
  return { now: () => at };
}

/** A worker's budget dependencies; `fresh` gives it its own Postgres client, like a new process. */
function worker(
  over: Partial<BudgetCheckDeps> & { smtpUrl?: string; fresh?: boolean } = {},
): BudgetCheckDeps {
  const mailer = createSmtpMailer(over.smtpUrl ?? smtp.url, "Switchyard <alerts@switchyard.local>");
  mailers.push(mailer);
  let client = prisma;
  if (over.fresh) {
    client = createPrismaClient(databaseUrl);
    extraClients.push(client);
  }
  return {
    prisma: client,
    redis,
    mailer,
    clock: fixedClock(NOW),
    limitsPrefix: prefix,
    dashboardUrl: "https://switchyard.example.com/",
    ...over,
  };
}

interface World {
  orgId: string;
  teamId: string;
  otherTeamId: string;
  keyA: string;
  keyB: string;
  budgetId: string;
}

async function seed(
  budget: { thresholds?: number[]; recipients?: string[]; notifyTeamAdmins?: boolean } = {},
): Promise<World> {
  const org = await prisma.organization.create({
    data: { slug: "acme", name: "Acme", timeZone: "Europe/Berlin" },
  });
  const team = await prisma.team.create({
    data: { orgId: org.id, slug: "search", name: "search" },
  });
  const other = await prisma.team.create({ data: { orgId: org.id, slug: "ads", name: "ads" } });
  const user = async (
    email: string,
    role: "ORG_OWNER" | "ORG_ADMIN" | "TEAM_ADMIN" | "MEMBER",
    teamId: string | null,
  ) => {
    const u = await prisma.user.create({ data: { email, name: email.split("@")[0] ?? email } });
    await prisma.membership.create({ data: { orgId: org.id, userId: u.id, teamId, role } });
  };
  await user("alice@example.com", "TEAM_ADMIN", team.id);
  await user("bob@example.com", "MEMBER", team.id);
  await user("carol@example.com", "TEAM_ADMIN", other.id);
  await user("owner@example.com", "ORG_OWNER", null);
  await user("admin@example.com", "ORG_ADMIN", null);
  const key = (name: string, teamId: string, n: number) =>
    prisma.virtualKey.create({
      data: { orgId: org.id, teamId, name, keyHash: `hash-${name}`, prefix: `sk-sy-${n}abc` },
    });
  const keyA = await key("indexer", team.id, 1);
  const keyB = await key("ranker", team.id, 2);
  const b = await prisma.budget.create({
    data: {
      orgId: org.id,
      scope: "TEAM",
      teamId: team.id,
      amountNanoUsd: 100n * USD,
      period: "MONTH",
      hard: true,
      thresholds: budget.thresholds ?? [50, 80, 100],
      recipients: budget.recipients ?? ["finance@example.com", "ALICE@example.com"],
      notifyTeamAdmins: budget.notifyTeamAdmins ?? true,
    },
  });
  return {
    orgId: org.id,
    teamId: team.id,
    otherTeamId: other.id,
    keyA: keyA.id,
    keyB: keyB.id,
    budgetId: b.id,
  };
}

let seq = 0;
async function spend(
  w: World,
  items: { usd: number | null; at: string; key?: string; model?: string; team?: string }[],
) {
  const events: UsageEvent[] = items.map((it) =>
    usageEvent(`req_${++seq}_${randomUUID()}`, {
      orgId: w.orgId,
      teamId: it.team ?? w.teamId,
      virtualKeyId: it.key ?? w.keyA,
      servedModel: it.model ?? "gpt-4o-mini",
      requestedModel: it.model ?? "gpt-4o-mini",
      occurredAt: it.at,
      costNanoUsd: it.usd === null ? null : String(BigInt(Math.round(it.usd * 100)) * (USD / 100n)),
    }),
  );
  await writeUsageBatch(prisma, events);
}

const addresses = (m: ParsedMail): string[] =>
  ([] as AddressObject[])
    .concat(m.to ?? [])
    .flatMap((a) => a.value.map((v) => v.address ?? ""))
    .sort();

describe("budget alerts", () => {
  it("crossing 50 and 80 % at once sends exactly one email, for 80 %, with the numbers of the period", async () => {
    const w = await seed();
    await spend(w, [
      { usd: 50, at: "2026-11-03T10:00:00Z", model: "gpt-4o", key: w.keyA },
      { usd: 20, at: "2026-11-10T10:00:00Z", model: "gpt-4o-mini", key: w.keyB },
      { usd: 11.5, at: "2026-11-19T10:00:00Z", model: "claude-sonnet", key: w.keyB },
      { usd: null, at: "2026-11-19T11:00:00Z", model: "unpriced-model", key: w.keyB },
      // October in Berlin (23:30 local on the 31st): another period.
      { usd: 500, at: "2026-10-31T22:30:00Z" },
      // Another team's spend does not count.
      { usd: 300, at: "2026-11-05T10:00:00Z", team: w.otherTeamId },
    ]);

    const r = await checkBudgets(worker());
    expect(r).toMatchObject({ budgets: 1, alertsSent: 1, failed: 0 });
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.subject).toBe("[Switchyard] Team 'search' monthly budget at 80 %");
    // Team admins of this team plus the budget's addresses, deduplicated; not members, not other teams.
    expect(addresses(mail)).toEqual(["ALICE@example.com", "finance@example.com"].sort());
    expect(mail.from?.text).toContain("alerts@switchyard.local");

    const text = mail.text ?? "";
    expect(text).toContain("$81.50 of $100.00 (81.5 %)");
    expect(text).toContain("team 'search' in 'Acme'");
    expect(text).toContain("hard: requests are refused");
    expect(text).toContain("2026-11-01 00:00 to 2026-12-01 00:00 (Europe/Berlin)");
    expect(text).toMatch(
      /Top models by spend:\n {2}1\. gpt-4o: \$50\.00 \(1 request\)\n {2}2\. gpt-4o-mini: \$20\.00/,
    );
    expect(text).toMatch(
      /Top keys by spend:\n {2}1\. indexer \(sk-sy-1abc…\): \$50\.00 \(1 request\)\n {2}2\. ranker \(sk-sy-2abc…\): \$31\.50 \(3 requests\)/,
    );
    // 81.5 $ in 469 h → the remaining 18.5 $ take another ~106.5 h: 2026-11-24 ~22:27Z, 23:27 in Berlin.
    expect(text).toContain("runs out around 2026-11-24 23:27 (Europe/Berlin)");
    expect(text).toContain("https://switchyard.example.com/budgets");

    const html = typeof mail.html === "string" ? mail.html : "";
    expect(html).toContain("$81.50 of $100.00 (81.5 %)");
    expect(html).toContain("<td>gpt-4o</td>");
    expect(html).toContain("indexer (sk-sy-1abc…)");
    expect(html).toContain('href="https://switchyard.example.com/budgets"');

    const events = await prisma.alertEvent.findMany();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      budgetId: w.budgetId,
      threshold: 80,
      periodStart: NOV_START,
      spentNanoUsd: 8150n * (USD / 100n),
      limitNanoUsd: 100n * USD,
    });
    expect([...events[0]!.recipients].sort()).toEqual(
      ["ALICE@example.com", "finance@example.com"].sort(),
    );

    // The same worker running again sends nothing new.
    expect((await checkBudgets(worker())).alertsSent).toBe(0);
    expect(smtp.mails).toHaveLength(1);
  });

  it("a restarted worker does not resend; the next threshold and the next period do send", async () => {
    const w = await seed();
    await spend(w, [{ usd: 55, at: "2026-11-05T10:00:00Z" }]);
    expect((await checkBudgets(worker())).alertsSent).toBe(1);
    expect(smtp.mails.map((m) => m.subject)).toEqual([
      "[Switchyard] Team 'search' monthly budget at 50 %",
    ]);

    // A new process (its own connections, no memory) finds the AlertEvent and stays quiet.
    expect((await checkBudgets(worker({ fresh: true }))).alertsSent).toBe(0);
    expect(smtp.mails).toHaveLength(1);

    await spend(w, [{ usd: 50, at: "2026-11-15T10:00:00Z" }]);
    expect((await checkBudgets(worker({ fresh: true }))).alertsSent).toBe(1);
    expect(smtp.mails).toHaveLength(2);
    expect(smtp.mails[1]!.subject).toBe("[Switchyard] Team 'search' monthly budget at 100 %");
    expect(smtp.mails[1]!.text).toContain("$105.00 of $100.00 (105.0 %)");
    expect(smtp.mails[1]!.text).toContain(
      "The budget is already exhausted. It resets at 2026-12-01 00:00 (Europe/Berlin).",
    );

    // December: November's alerts do not count; nothing spent yet, nothing sent.
    const december = fixedClock(new Date("2026-12-02T09:00:00Z"));
    expect((await checkBudgets(worker({ clock: december }))).alertsSent).toBe(0);
    await spend(w, [{ usd: 60, at: "2026-12-01T08:00:00Z" }]);
    expect((await checkBudgets(worker({ clock: december }))).alertsSent).toBe(1);
    expect(smtp.mails).toHaveLength(3);
    expect(smtp.mails[2]!.subject).toBe("[Switchyard] Team 'search' monthly budget at 50 %");
    expect(smtp.mails[2]!.text).toContain("$60.00 of $100.00 (60.0 %)");
    expect(smtp.mails[2]!.text).toContain("2026-12-01 00:00 to 2027-01-01 00:00 (Europe/Berlin)");
    const rows = await prisma.alertEvent.findMany({ orderBy: { sentAt: "asc" } });
    expect(rows.map((r) => [r.threshold, r.periodStart.toISOString()])).toEqual([
      [50, NOV_START.toISOString()],
      [100, NOV_START.toISOString()],
      [50, "2026-11-30T23:00:00.000Z"],
    ]);
  });

  it("when SMTP is down the alert is not recorded, and a later run sends it", async () => {
    const w = await seed();
    await spend(w, [{ usd: 85, at: "2026-11-05T10:00:00Z" }]);
    const port = smtp.port;
    await smtp.close();

    const down = await checkBudgets(worker({ smtpUrl: `smtp://127.0.0.1:${port}` }));
    expect(down).toMatchObject({ alertsSent: 0, failed: 1 });
    expect(await prisma.alertEvent.count()).toBe(0);

    smtp = await startTestSmtpServer(port);
    const up = await checkBudgets(worker({ smtpUrl: `smtp://127.0.0.1:${port}` }));
    expect(up).toMatchObject({ alertsSent: 1, failed: 0 });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.subject).toContain("at 80 %");
    expect(await prisma.alertEvent.count()).toBe(1);
  });

  it("sends nothing and records nothing for a budget without recipients, until it has some", async () => {
    const w = await seed({ recipients: [], notifyTeamAdmins: false });
    await spend(w, [{ usd: 90, at: "2026-11-05T10:00:00Z" }]);
    expect((await checkBudgets(worker())).alertsSent).toBe(0);
    expect(await prisma.alertEvent.count()).toBe(0);
    await prisma.budget.update({
      where: { id: w.budgetId },
      data: { recipients: ["ops@example.com"] },
    });
    expect((await checkBudgets(worker())).alertsSent).toBe(1);
    expect(addresses(smtp.mails[0]!)).toEqual(["ops@example.com"]);
  });

  it("alerts org owners and admins for an org budget, and the key's team admins for a key budget", async () => {
    const w = await seed({ recipients: [] });
    const orgBudget = await prisma.budget.create({
      data: {
        orgId: w.orgId,
        scope: "ORG",
        amountNanoUsd: USD,
        period: "DAY",
        recipients: ["cfo@example.com"],
      },
    });
    const keyBudget = await prisma.budget.create({
      data: {
        orgId: w.orgId,
        scope: "KEY",
        virtualKeyId: w.keyB,
        amountNanoUsd: USD,
        period: "WEEK",
      },
    });
    const all = await loadBudgets(prisma);
    const byId = (id: string) => all.find((b) => b.id === id)!;
    expect((await alertRecipients(prisma, byId(orgBudget.id))).sort()).toEqual(
      ["admin@example.com", "cfo@example.com", "owner@example.com"].sort(),
    );
    expect(await alertRecipients(prisma, byId(keyBudget.id))).toEqual(["alice@example.com"]);

    // The key budget counts only that key's spend, in the org's week (Monday 00:00 Berlin).
    await spend(w, [
      { usd: 0.6, at: "2026-11-16T08:00:00Z", key: w.keyB, model: "gpt-4o" },
      { usd: 5, at: "2026-11-16T08:00:00Z", key: w.keyA },
      { usd: 5, at: "2026-11-15T22:30:00Z", key: w.keyB }, // Sunday 23:30 Berlin: last week
    ]);
    await checkBudgets(worker(), {
      orgIds: new Set(),
      teamIds: new Set(),
      virtualKeyIds: new Set([w.keyB]),
    });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.subject).toBe("[Switchyard] Key 'ranker' weekly budget at 50 %");
    expect(smtp.mails[0]!.text).toContain("$0.60 of $1.00 (60.0 %)");
    expect(smtp.mails[0]!.text).toContain("2026-11-16 00:00 to 2026-11-23 00:00 (Europe/Berlin)");
  });
});

describe("budget reconciliation", () => {
  it("restores spent in Redis from Postgres after a FLUSH, and never lowers it", async () => {
    const w = await seed();
    await spend(w, [
      { usd: 12.34, at: "2026-11-05T10:00:00Z" },
      { usd: null, at: "2026-11-05T11:00:00Z" },
      { usd: 1, at: "2026-10-30T10:00:00Z" },
    ]);
    const target = { id: w.budgetId, periodStart: NOV_START };
    const read = async () => (await readBudget(redis, target, { prefix })).spentNanoUsd;

    // Just ingested: the proxies may not have settled these costs in Redis yet (a lease
    // spends its requests' costs up to a second after they finish); raising now could
    // count them twice. Alerts still see them.
    const fresh = await checkBudgets(worker());
    expect(fresh.raised).toBe(0);
    expect(await read()).toBe(0n);
    await prisma.$executeRaw`UPDATE request_logs SET "ingestedAt" = now() - interval '1 minute' WHERE "orgId" = ${w.orgId}`;

    const first = await checkBudgets(worker());
    expect(first.raised).toBe(1);
    expect(await read()).toBe(1234n * (USD / 100n));

    await redis.flushdb();
    expect(await read()).toBe(0n);
    const again = await checkBudgets(worker({ fresh: true }));
    expect(again.raised).toBe(1);
    expect(await read()).toBe(1234n * (USD / 100n));

    // The proxy has settled more than Postgres has seen yet (events still queued): keep it.
    await raiseBudgetSpent(redis, target, 20n * USD, { prefix });
    const later = await checkBudgets(worker());
    expect(later.raised).toBe(0);
    expect(await read()).toBe(20n * USD);
  });
});
