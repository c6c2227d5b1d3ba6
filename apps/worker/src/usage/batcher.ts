import { UnrecoverableError } from "bullmq";
import type { UsageEvent } from "@switchyard/contracts";
import type { PrismaClient } from "@switchyard/db";
import { writeUsageBatch } from "./ingest";

export interface BatchLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

interface Pending {
  event: UsageEvent;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface UsageBatcherOptions {
  prisma: PrismaClient;
  /** Flush as soon as this many events are waiting. */
  batchSize: number;
  /** ...or when the oldest waiting event has waited this long. */
  waitMs: number;
  logger?: BatchLogger;
  /** Called with the events of every committed batch (budget checks react to new spend). */
  onCommitted?: (events: readonly UsageEvent[]) => void;
}

// Postgres SQLSTATE classes a retry cannot fix: 22 data exception (e.g. integer out
// of range), 23 integrity violation.
const PERMANENT_SQLSTATE = /^(22|23)[0-9A-Z]{3}$/;

function sqlState(err: unknown): string | undefined {
  // Prisma wraps driver-adapter errors (PrismaClientKnownRequestError →
  // meta.driverAdapterError → cause.originalCode); search that small tree for the
  // server's 5-character SQLSTATE.
  const queue: { node: unknown; depth: number }[] = [{ node: err, depth: 0 }];
  while (queue.length > 0) {
    const { node, depth } = queue.shift()!;
    if (!node || typeof node !== "object" || depth > 4) continue;
    const o = node as Record<string, unknown>;
    const code = o.originalCode;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    for (const k of ["cause", "meta", "driverAdapterError"])
      queue.push({ node: o[k], depth: depth + 1 });
  }
  return undefined;
}

export function isPermanentDbError(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && PERMANENT_SQLSTATE.test(code);
}

/**
 * Collects usage events from concurrently running BullMQ job processors and commits
 * them in batches (BullMQ OSS has no batch consumer). Each `add` resolves once the
 * event's batch is committed, so a job completes only after its row is durable, and
 * rejects if it was not, so BullMQ retries it.
 */
export class UsageBatcher {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: UsageBatcherOptions) {}

  add(event: UsageEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ event, resolve, reject });
      if (this.pending.length >= this.opts.batchSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.waitMs);
    });
  }

  /** Starts committing whatever is waiting, now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const p = this.commit(batch).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Flushes what is waiting and waits for every batch in progress (used on shutdown). */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  get waiting(): number {
    return this.pending.length;
  }

  private async commit(batch: Pending[]): Promise<void> {
    const { prisma, logger } = this.opts;
    const started = Date.now();
    try {
      const r = await writeUsageBatch(
        prisma,
        batch.map((p) => p.event),
      );
      logger?.debug(
        {
          events: batch.length,
          inserted: r.inserted,
          duplicates: r.duplicates,
          ms: Date.now() - started,
        },
        "usage batch committed",
      );
      for (const p of batch) p.resolve();
      this.notifyCommitted(batch.map((p) => p.event));
      return;
    } catch (err) {
      if (batch.length === 1) {
        this.rejectOne(batch[0]!, err);
        return;
      }
      logger?.warn(
        { events: batch.length, err: errorMessage(err) },
        "usage batch failed; retrying its events one by one",
      );
    }
    // One bad event must not sink the whole batch on every retry (its neighbours would
    // share its backoff schedule and land in the same batch again), so isolate it.
    // If the database itself is down these fail too and every job goes back for retry.
    const committed: UsageEvent[] = [];
    for (const p of batch) {
      try {
        await writeUsageBatch(prisma, [p.event]);
        p.resolve();
        committed.push(p.event);
      } catch (err) {
        this.rejectOne(p, err);
      }
    }
    if (committed.length > 0) this.notifyCommitted(committed);
  }

  private notifyCommitted(events: readonly UsageEvent[]): void {
    try {
      this.opts.onCommitted?.(events);
    } catch (err) {
      // The rows are durable whatever a listener does; never fail the jobs for it.
      this.opts.logger?.warn({ err: errorMessage(err) }, "usage batch listener failed");
    }
  }

  private rejectOne(p: Pending, err: unknown): void {
    const msg = errorMessage(err);
    if (isPermanentDbError(err)) {
      this.opts.logger?.error(
        { requestId: p.event.requestId, err: msg },
        "usage event rejected by the database; not retrying",
      );
      p.reject(new UnrecoverableError(`usage event ${p.event.requestId} cannot be stored: ${msg}`));
    } else {
      p.reject(err instanceof Error ? err : new Error(msg));
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
