import { createReadStream } from "node:fs";
import { appendFile, mkdir, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Redis } from "ioredis";
import { usageEventSchema, type UsageEvent } from "@switchyard/contracts";
import { enqueueUsage, enqueueUsageBulk, type TypedQueue } from "@switchyard/jobs";
import type { Logger } from "./logger";
import type { ProxyMetrics } from "./metrics";

export interface UsageProducerOptions {
  queue: TypedQueue<"usage">;
  /** The queue's fail-fast producer connection (createProducerConnection). */
  connection: Redis;
  spoolDir: string;
  logger: Logger;
  metrics: ProxyMetrics;
  /** Give up on an enqueue after this long and spool instead (default 3000 ms). */
  enqueueTimeoutMs?: number;
  /** How often to retry a non-empty spool (default 5000 ms); also retried when Redis reconnects. */
  replayIntervalMs?: number;
  replayBatchSize?: number;
  /** Most events per queue call; events recorded in one event-loop turn go out together (default 200). */
  maxBatch?: number;
}

const ACTIVE = "usage.jsonl";
/** A spool being replayed. If the process dies mid-replay it is replayed again at the next start. */
const REPLAYING = "usage.replaying.jsonl";

/**
 * Puts one UsageEvent per request on the `usage` queue, off the response path. Events
 * recorded in the same event-loop turn are pipelined: one `addBulk` (one MULTI round trip)
 * per turn instead of one script call each. When
 * Redis cannot take it, the event is appended as one JSON line to a local spool file
 * and replayed later. Replay is idempotent: the job id is the request id, so an event
 * enqueued twice (a timeout that in fact succeeded, a crash mid-replay) is one job,
 * and the worker dedupes on request id as well.
 */
export class UsageProducer {
  private readonly activePath: string;
  private readonly replayingPath: string;
  private readonly inFlight = new Set<Promise<void>>();
  /** Serialises spool appends and replays so a replay never loses a line being appended. */
  private lock: Promise<unknown> = Promise.resolve();
  private spooled = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Recorded this turn, sent together at setImmediate. */
  private batch: UsageEvent[] = [];
  private scheduled = false;
  private readonly onReady = () => void this.replaySpool().catch(() => undefined);

  constructor(private readonly opts: UsageProducerOptions) {
    this.activePath = path.join(opts.spoolDir, ACTIVE);
    this.replayingPath = path.join(opts.spoolDir, REPLAYING);
  }

  /** Creates the spool dir, counts what is waiting, replays it if Redis is up, starts the retry timer. */
  async start(): Promise<void> {
    await mkdir(this.opts.spoolDir, { recursive: true });
    this.spooled = (await countLines(this.activePath)) + (await countLines(this.replayingPath));
    this.opts.metrics.setSpoolEvents(this.spooled);
    this.opts.connection.on("ready", this.onReady);
    this.timer = setInterval(() => {
      if (this.spooled > 0) this.onReady();
    }, this.opts.replayIntervalMs ?? 5000);
    this.timer.unref();
    if (this.spooled > 0 && this.opts.connection.status === "ready") await this.replaySpool().catch(() => undefined);
  }

  get spooledCount(): number {
    return this.spooled;
  }

  /** Fire and forget: never throws, never delays the caller. */
  record(event: UsageEvent): void {
    const checked = usageEventSchema.safeParse(event);
    if (!checked.success) {
      // A bug in the proxy, not a runtime condition: log loudly, still keep the data.
      this.opts.logger.error({ requestId: event.requestId, issues: checked.error.issues }, "usage event does not match the schema");
    }
    this.batch.push(event);
    if (this.batch.length >= (this.opts.maxBatch ?? 200)) this.sendBatch();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.sendBatch());
    }
  }

  /** Resolves when every recorded event is on the queue or in the spool. */
  async flush(): Promise<void> {
    this.sendBatch();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.lock.catch(() => undefined);
  }

  private sendBatch(): void {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    const events = this.batch;
    this.batch = [];
    const p = this.enqueueOrSpool(events).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async enqueueOrSpool(events: UsageEvent[]): Promise<void> {
    // BullMQ waits (not fails) for a connection that is not ready; don't wait, spool.
    if (this.opts.connection.status === "ready") {
      try {
        // The job id is the request id: a batch that timed out but in fact landed is not doubled by its spooled copy.
        const call = events.length === 1 && events[0] ? enqueueUsage(this.opts.queue, events[0]) : enqueueUsageBulk(this.opts.queue, events);
        await withTimeout(call, this.opts.enqueueTimeoutMs ?? 3000);
        return;
      } catch (err) {
        this.opts.logger.warn({ requestIds: events.map((e) => e.requestId), err: (err as Error).message }, "usage enqueue failed; spooling");
      }
    }
    await this.spool(events);
  }

  private spool(events: UsageEvent[]): Promise<void> {
    return this.withLock(async () => {
      try {
        await appendFile(this.activePath, events.map((e) => JSON.stringify(e) + "\n").join(""), "utf8");
        this.spooled += events.length;
        this.opts.metrics.setSpoolEvents(this.spooled);
      } catch (err) {
        // Nothing else can be done; the log line keeps the events for manual recovery.
        for (const event of events) this.opts.logger.error({ err: (err as Error).message, event }, "cannot write usage spool");
      }
    });
  }

  /**
   * Moves the spool aside, enqueues it in batches, then deletes it. Returns how many
   * events were replayed. On failure the file stays and the next replay resumes it.
   */
  replaySpool(): Promise<number> {
    return this.withLock(async () => {
      let replayed = 0;
      for (;;) {
        if (!(await exists(this.replayingPath))) {
          if (!(await exists(this.activePath))) break;
          await rename(this.activePath, this.replayingPath);
        }
        const events = await readEvents(this.replayingPath, this.opts.logger);
        const size = this.opts.replayBatchSize ?? 500;
        for (let i = 0; i < events.length; i += size) {
          await withTimeout(enqueueUsageBulk(this.opts.queue, events.slice(i, i + size)), this.opts.enqueueTimeoutMs ?? 3000);
        }
        await unlink(this.replayingPath);
        replayed += events.length;
      }
      this.spooled = 0;
      this.opts.metrics.setSpoolEvents(0);
      if (replayed > 0) this.opts.logger.info({ replayed }, "replayed spooled usage events");
      return replayed;
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.opts.connection.off("ready", this.onReady);
    await this.flush();
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function countLines(p: string): Promise<number> {
  if (!(await exists(p))) return 0;
  let n = 0;
  const rl = createInterface({ input: createReadStream(p, "utf8"), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== "") n++;
  return n;
}

async function readEvents(p: string, logger: Logger): Promise<UsageEvent[]> {
  const events: UsageEvent[] = [];
  const rl = createInterface({ input: createReadStream(p, "utf8"), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === "") continue;
    try {
      events.push(usageEventSchema.parse(JSON.parse(line)));
    } catch {
      // A torn last line from a crash mid-append: skip it rather than block the spool forever.
      logger.error({ line: line.slice(0, 200) }, "skipping unreadable spooled usage line");
    }
  }
  return events;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
