import pg from "pg";
import type { Clock } from "../budgets/budgets";

/**
 * Request-log retention. For each organisation with `requestLogRetentionDays` set,
 * deletes its request_logs and request_bodies rows older than that many days, in small
 * batches: each batch is its own short autocommitted DELETE (row locks on the rows it
 * removes, for milliseconds; never a table lock, never a long transaction), with a
 * pause in between, so ingestion never waits on it. usage_rollups and
 * attribution_rollups are never touched: the dashboard's charts outlive the detail rows.
 *
 * Only one worker runs it at a time: the run holds a session-level Postgres advisory
 * lock on its own connection; a worker that cannot take it skips the run.
 */

/** Advisory lock key of the retention job (any constant, unique among our locks). */
export const RETENTION_LOCK_KEY = 7_345_120_001n;
export const DEFAULT_RETENTION_BATCH_SIZE = 5000;
export const DEFAULT_RETENTION_PAUSE_MS = 100;
/** application_name of the retention connection (visible in pg_stat_activity). */
export const RETENTION_APPLICATION_NAME = "switchyard-retention";
const DAY_MS = 86_400_000;

/** The tables retention prunes, both indexed on ("orgId", "createdAt"). */
export const RETENTION_TABLES = ["request_logs", "request_bodies"] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];

export interface RetentionLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RetentionOptions {
  databaseUrl: string;
  clock: Clock;
  /** Rows per DELETE statement. */
  batchSize?: number;
  /** Pause between two batches, so other writers get the table. */
  pauseMs?: number;
  logger?: RetentionLogger;
  /** Checked between batches: false stops the run early (shutdown). */
  shouldContinue?: () => boolean;
  /** Called after each batch that removed rows, between two DELETEs (tests observe the batching with it). */
  onBatch?: (batch: {
    orgId: string;
    table: RetentionTable;
    deleted: number;
  }) => void | Promise<void>;
}

export interface RetentionResult {
  /** false when another worker held the lock. */
  ran: boolean;
  /** Organisations with a retention that were processed. */
  orgs: number;
  /** request_logs rows deleted. */
  deleted: number;
  /** request_bodies rows deleted. */
  deletedBodies: number;
  /** DELETE statements that removed rows. */
  batches: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One batch: the oldest rows first, found through the ("orgId", "createdAt") index and
 * deleted by ctid (a TID scan), so a batch costs the same however many old rows remain.
 */
function deleteBatchSql(table: RetentionTable): string {
  return `DELETE FROM "${table}" WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM "${table}" WHERE "orgId" = $1 AND "createdAt" < $2
       ORDER BY "createdAt" LIMIT $3))`;
}

export async function runRetention(opts: RetentionOptions): Promise<RetentionResult> {
  const batchSize = opts.batchSize ?? DEFAULT_RETENTION_BATCH_SIZE;
  const pauseMs = opts.pauseMs ?? DEFAULT_RETENTION_PAUSE_MS;
  const stopRequested = (): boolean => opts.shouldContinue !== undefined && !opts.shouldContinue();
  const result: RetentionResult = { ran: false, orgs: 0, deleted: 0, deletedBodies: 0, batches: 0 };
  // Its own connection: a session advisory lock belongs to one connection, not to a pool.
  const client = new pg.Client({
    connectionString: opts.databaseUrl,
    application_name: RETENTION_APPLICATION_NAME,
  });
  client.on("error", (err) =>
    opts.logger?.warn({ err: err.message }, "retention connection error"),
  );
  await client.connect();
  try {
    const lock = await client.query<{ locked: boolean }>(
      "SELECT pg_try_advisory_lock($1::bigint) AS locked",
      [RETENTION_LOCK_KEY.toString()],
    );
    if (!lock.rows[0]?.locked) {
      opts.logger?.debug({}, "retention skipped: another worker runs it");
      return result;
    }
    result.ran = true;
    try {
      // A runaway statement must not hold row locks for long; a batch normally takes milliseconds.
      await client.query("SET statement_timeout = '60s'");
      const orgs = await client.query<{ id: string; days: number }>(
        `SELECT id, "requestLogRetentionDays" AS days FROM organizations
          WHERE "requestLogRetentionDays" IS NOT NULL AND "requestLogRetentionDays" > 0 ORDER BY id`,
      );
      const now = opts.clock.now().getTime();
      orgs: for (const org of orgs.rows) {
        if (stopRequested()) break;
        result.orgs++;
        const cutoff = new Date(now - org.days * DAY_MS);
        const orgDeleted: Record<RetentionTable, number> = { request_logs: 0, request_bodies: 0 };
        for (const table of RETENTION_TABLES) {
          for (;;) {
            // No BEGIN: every DELETE is its own autocommitted transaction.
            const del = await client.query(deleteBatchSql(table), [org.id, cutoff, batchSize]);
            const n = del.rowCount ?? 0;
            if (n > 0) {
              result.batches++;
              orgDeleted[table] += n;
              if (table === "request_logs") result.deleted += n;
              else result.deletedBodies += n;
              await opts.onBatch?.({ orgId: org.id, table, deleted: n });
            }
            if (stopRequested()) break orgs;
            if (n < batchSize) break;
            await sleep(pauseMs);
          }
        }
        if (orgDeleted.request_logs + orgDeleted.request_bodies > 0) {
          opts.logger?.info(
            {
              orgId: org.id,
              retentionDays: org.days,
              cutoff: cutoff.toISOString(),
              deletedLogs: orgDeleted.request_logs,
              deletedBodies: orgDeleted.request_bodies,
            },
            "request log retention applied",
          );
        }
      }
    } finally {
      await client.query("SELECT pg_advisory_unlock($1::bigint)", [RETENTION_LOCK_KEY.toString()]);
    }
    return result;
  } finally {
    // Ending the session also frees the lock if the unlock above never ran.
    await client.end();
  }
}

export interface RetentionLoopOptions extends Omit<RetentionOptions, "shouldContinue"> {
  /** A run this often (and once at start). */
  intervalMs: number;
}

export interface RetentionLoop {
  /** Runs now (after the run in progress, if any). */
  runNow(): Promise<RetentionResult>;
  /** Stops scheduling; the run in progress stops after its current batch. */
  stop(): Promise<void>;
}

export function startRetentionLoop(opts: RetentionLoopOptions): RetentionLoop {
  const { intervalMs, ...runOpts } = opts;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // Runs never overlap inside one worker; the advisory lock keeps them apart across workers.
  let chain: Promise<unknown> = Promise.resolve();

  const run = (): Promise<RetentionResult> => {
    const next = chain.then(() => runRetention({ ...runOpts, shouldContinue: () => !stopped }));
    chain = next.catch(() => undefined);
    return next;
  };
  const runAndReschedule = (): void => {
    void run()
      .catch((err: unknown) =>
        opts.logger?.error(
          { err: err instanceof Error ? err.message : String(err) },
          "request log retention failed",
        ),
      )
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(() => {
          timer = undefined;
          runAndReschedule();
        }, intervalMs);
        // The retention timer alone must not keep the process alive.
        timer.unref();
      });
  };
  runAndReschedule();

  return {
    runNow: run,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
  };
}
