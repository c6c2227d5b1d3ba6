import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { waitFor } from "../testing/fixtures";
import {
  RETENTION_APPLICATION_NAME,
  RETENTION_LOCK_KEY,
  runRetention,
  startRetentionLoop,
} from "./retention";

const NOW = new Date("2026-11-20T12:00:00.000Z");
const DAY = 86_400_000;
const clock = { now: () => NOW };

let databaseUrl: string;
let prisma: PrismaClient;
let pool: pg.Pool;

beforeAll(async () => {
  databaseUrl = await prepareTestDatabase("switchyard_test_worker_retention");
  prisma = createPrismaClient(databaseUrl);
  pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
});
afterAll(async () => {
  await pool.end();
  await prisma.$disconnect();
});
beforeEach(async () => {
  await truncateAll(prisma);
});

async function org(slug: string, requestLogRetentionDays: number | null): Promise<string> {
  const o = await prisma.organization.create({
    data: { slug, name: slug, requestLogRetentionDays },
  });
  return o.id;
}

/** Inserts `n` request_logs rows of `orgId` created at `createdAt` (one statement). */
async function insertLogs(orgId: string, n: number, createdAt: Date, tag: string): Promise<void> {
  await pool.query(
    `INSERT INTO request_logs ("requestId", "createdAt", "orgId", "teamId", "virtualKeyId", endpoint,
       "requestedModel", "usageSource", "cacheStatus", status, "latencyMs", stream)
     SELECT $1 || '-' || g, $2, $3, 'team', 'key', 'chat.completions', 'gpt-4o-mini', 'provider', 'miss', 200, 10, false
       FROM generate_series(1, $4::int) g`,
    [`${orgId}-${tag}`, createdAt, orgId, n],
  );
}

/** Inserts `n` request_bodies rows of `orgId` created at `createdAt`. */
async function insertBodies(orgId: string, n: number, createdAt: Date, tag: string): Promise<void> {
  await pool.query(
    `INSERT INTO request_bodies ("requestId", "orgId", "teamId", "createdAt", request, response, redacted)
     SELECT $1 || '-' || g, $3, 'team', $2, '{"messages":[]}', '{}', false FROM generate_series(1, $4::int) g`,
    [`${orgId}-${tag}`, createdAt, orgId, n],
  );
}

async function countLogs(orgId: string, where = "true"): Promise<number> {
  return count("request_logs", orgId, where);
}

async function count(table: string, orgId: string, where = "true"): Promise<number> {
  const r = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${table} WHERE "orgId" = $1 AND ${where}`,
    [orgId],
  );
  return Number(r.rows[0]?.n);
}

describe("request log retention", () => {
  it("deletes only the old log and body rows of orgs with a retention; rollups and other orgs stay", async () => {
    const acme = await org("acme", 30);
    const beta = await org("beta", null); // keep forever
    const gamma = await org("gamma", 7);
    for (const id of [acme, beta, gamma]) {
      await insertLogs(id, 50, new Date(NOW.getTime() - 90 * DAY), "old");
      await insertLogs(id, 20, new Date(NOW.getTime() - 10 * DAY), "mid");
      await insertLogs(id, 5, new Date(NOW.getTime() - 1000), "new");
      await insertBodies(id, 8, new Date(NOW.getTime() - 90 * DAY), "old");
      await insertBodies(id, 3, new Date(NOW.getTime() - 10 * DAY), "mid");
      await insertBodies(id, 2, new Date(NOW.getTime() - 1000), "new");
    }
    await prisma.usageRollup.create({
      data: {
        bucket: new Date(NOW.getTime() - 90 * DAY),
        orgId: acme,
        teamId: "team",
        virtualKeyId: "key",
        model: "gpt-4o-mini",
        provider: "openai",
        requests: 50,
        costNanoUsd: 123_456n,
      },
    });
    await prisma.attributionRollup.create({
      data: {
        bucket: new Date(NOW.getTime() - 90 * DAY),
        orgId: acme,
        teamId: "team",
        dimension: "user",
        value: "alice",
        requests: 50,
        costNanoUsd: 123_456n,
      },
    });

    const r = await runRetention({ databaseUrl, clock, pauseMs: 0 });

    // acme: 50 logs + 8 bodies; gamma: 70 logs + 11 bodies; one batch per org and table.
    expect(r).toEqual({ ran: true, orgs: 2, deleted: 50 + 70, deletedBodies: 8 + 11, batches: 4 });
    // acme keeps 30 days: the 10-day-old and new rows stay.
    expect(await countLogs(acme)).toBe(25);
    expect(
      await countLogs(acme, `"createdAt" < '${new Date(NOW.getTime() - 30 * DAY).toISOString()}'`),
    ).toBe(0);
    // beta has no retention: untouched.
    expect(await countLogs(beta)).toBe(75);
    // gamma keeps 7 days: only the new rows stay.
    expect(await countLogs(gamma)).toBe(5);
    expect(await count("request_bodies", acme)).toBe(5);
    expect(await count("request_bodies", beta)).toBe(13);
    expect(await count("request_bodies", gamma)).toBe(2);
    const rollups = await prisma.usageRollup.findMany();
    expect(rollups).toHaveLength(1);
    expect(rollups[0]).toMatchObject({ orgId: acme, requests: 50, costNanoUsd: 123_456n });
    expect(await prisma.attributionRollup.findMany()).toEqual([
      expect.objectContaining({ orgId: acme, requests: 50, costNanoUsd: 123_456n }),
    ]);
  });

  it("deletes in batches of the configured size", async () => {
    const acme = await org("acme", 30);
    await insertLogs(acme, 12_000, new Date(NOW.getTime() - 40 * DAY), "old");
    await insertLogs(acme, 3, new Date(NOW.getTime() - DAY), "new");
    await insertBodies(acme, 5000, new Date(NOW.getTime() - 40 * DAY), "old");
    const batches: string[] = [];
    const r = await runRetention({
      databaseUrl,
      clock,
      batchSize: 5000,
      pauseMs: 1,
      onBatch: (b) => void batches.push(`${b.table}:${b.deleted}`),
    });
    expect(batches).toEqual([
      "request_logs:5000",
      "request_logs:5000",
      "request_logs:2000",
      "request_bodies:5000",
    ]);
    expect(r).toMatchObject({ ran: true, deleted: 12_000, deletedBodies: 5000, batches: 4 });
    expect(await countLogs(acme)).toBe(3);
    expect(await count("request_bodies", acme)).toBe(0);
  });

  it("never holds a lock or a transaction between batches, and ingestion goes on meanwhile", async () => {
    const acme = await org("acme", 30);
    await insertLogs(acme, 20_000, new Date(NOW.getTime() - 40 * DAY), "old");
    await insertBodies(acme, 3000, new Date(NOW.getTime() - 40 * DAY), "old");
    let inserted = 0;
    let deleting = true;
    const insertedAtBatch: number[] = [];
    const between: { state: string; xact: boolean; locks: number }[] = [];
    const ingest = (async () => {
      // One small insert after another, like the usage consumer's batches, until retention is done.
      while (deleting || inserted < 20) {
        await insertLogs(acme, 10, new Date(NOW.getTime() - 1000), `live${inserted}`);
        inserted++;
      }
    })();
    const retention = runRetention({
      databaseUrl,
      clock,
      batchSize: 1000,
      pauseMs: 20,
      onBatch: async () => {
        insertedAtBatch.push(inserted);
        // Between two DELETEs the retention session is idle: no open transaction and no
        // lock on either table, so each batch committed on its own.
        const s = await pool.query<{ state: string; xact: boolean; locks: string }>(
          `SELECT a.state, a.xact_start IS NOT NULL AS xact,
             (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid
                AND l.relation IN ('request_logs'::regclass, 'request_bodies'::regclass)) AS locks
           FROM pg_stat_activity a WHERE a.application_name = $1 AND a.datname = current_database()`,
          [RETENTION_APPLICATION_NAME],
        );
        expect(s.rows).toHaveLength(1);
        between.push({ ...s.rows[0]!, locks: Number(s.rows[0]!.locks) });
      },
    }).finally(() => {
      deleting = false;
    });
    const [r] = await Promise.all([retention, ingest]);

    expect(r).toMatchObject({ ran: true, deleted: 20_000, deletedBodies: 3000, batches: 23 });
    expect(between).toHaveLength(23);
    expect(between.every((b) => b.state === "idle" && !b.xact && b.locks === 0)).toBe(true);
    // Ingestion kept going while the batches ran.
    expect(insertedAtBatch.at(-1)!).toBeGreaterThan(insertedAtBatch[0]!);
    expect(await countLogs(acme)).toBe(inserted * 10);
  });

  it("runs on one worker at a time (advisory lock)", async () => {
    const acme = await org("acme", 30);
    await insertLogs(acme, 3000, new Date(NOW.getTime() - 40 * DAY), "old");

    // A second runner starting while the first holds the lock skips the run.
    let second: Awaited<ReturnType<typeof runRetention>> | undefined;
    const first = await runRetention({
      databaseUrl,
      clock,
      batchSize: 1000,
      pauseMs: 0,
      onBatch: async () => {
        second ??= await runRetention({ databaseUrl, clock, batchSize: 1000, pauseMs: 0 });
      },
    });
    expect(first).toMatchObject({ ran: true, deleted: 3000 });
    expect(second).toEqual({ ran: false, orgs: 0, deleted: 0, deletedBodies: 0, batches: 0 });

    // Two started at the same instant: exactly one does the work. The winner waits after
    // its first batch until the loser has returned, so their runs surely overlap.
    await insertLogs(acme, 3000, new Date(NOW.getTime() - 40 * DAY), "old2");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const racers = [0, 1].map(() =>
      runRetention({ databaseUrl, clock, batchSize: 500, pauseMs: 0, onBatch: () => gate }),
    );
    const loser = await Promise.race(racers);
    expect(loser.ran).toBe(false);
    release();
    const both = await Promise.all(racers);
    expect(both.map((r) => r.ran).sort()).toEqual([false, true]);
    expect(both.reduce((s, r) => s + r.deleted, 0)).toBe(3000);

    // Another session holding the lock (a worker elsewhere): skipped; released: it runs.
    await insertLogs(acme, 10, new Date(NOW.getTime() - 40 * DAY), "old3");
    const holder = await pool.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [RETENTION_LOCK_KEY.toString()]);
      expect((await runRetention({ databaseUrl, clock })).ran).toBe(false);
      expect(await countLogs(acme)).toBe(10);
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [RETENTION_LOCK_KEY.toString()]);
    } finally {
      holder.release();
    }
    expect(await runRetention({ databaseUrl, clock })).toMatchObject({ ran: true, deleted: 10 });
    expect(await countLogs(acme)).toBe(0);
  });

  it("the loop runs at start and on its interval, with the injected clock", async () => {
    const acme = await org("acme", 1);
    await insertLogs(acme, 10, new Date(NOW.getTime() - 2 * DAY), "old");
    await insertLogs(acme, 4, new Date(NOW.getTime() - 1000), "new");
    const loop = startRetentionLoop({ databaseUrl, clock, intervalMs: 100, pauseMs: 0 });
    try {
      await waitFor(async () => (await countLogs(acme)) === 4, 10_000, "first retention run");
      // Rows that age past the cutoff later go on a following run.
      await insertLogs(acme, 6, new Date(NOW.getTime() - 3 * DAY), "later");
      await waitFor(async () => (await countLogs(acme)) === 4, 10_000, "interval retention run");
    } finally {
      await loop.stop();
    }
  });
});
