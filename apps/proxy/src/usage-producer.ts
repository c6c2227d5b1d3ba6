import { createReadStream } from "node:fs";
import { appendFile, mkdir, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Redis } from "ioredis";
import { usageEventSchema, type UsageEvent } from "@switchyard/contracts";
import { enqueueUsageBulk, type TypedQueue } from "@switchyard/jobs";
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
  /** Most events per queue job; events recorded within batchWindowMs go out together (default 200). */
  maxBatch?: number;
  /**
   * How long events gather before they go out as one job (default 20 ms; 0: one
   * event-loop turn). A window rather than a turn so that batches fill at low concurrency
   * too (streams end one at a time); nobody waits for an event, and flush()/close() send
   * what is waiting at once.
   */
  batchWindowMs?: number;
  /**
   * Check one event in this many against the UsageEvent schema before sending (default 1:
   * every event). Production samples (boot.ts: 256): the check costs a few % of the proxy's
   * CPU, the worker validates every event anyway, and a sample still shows a bug in the logs.
   */
  validateEvery?: number;
}

const ACTIVE = "usage.jsonl";
/** A spool being replayed. If the process dies mid-replay it is replayed again at the next start. */
const REPLAYING = "usage.replaying.jsonl";

/**
 * Puts one UsageEvent per request on the `usage` queue, off the response path. Events
 * recorded within a few milliseconds (batchWindowMs) go out as ONE batch job (enqueueUsageBulk: one
 * script call and one job's overhead per batch instead of one per event). When
 * Redis cannot take it, the event is appended as one JSON line to a local spool file
 * and replayed later, in batch jobs too. Replay is idempotent: a job id is a function
 * of the request ids it holds (a lone event's is its request id), so the same events
 * enqueued twice in the same grouping (a timeout that in fact succeeded, a crash
 * mid-replay) are one job, and the worker dedupes on request id whatever the grouping.
 */
export class UsageProducer {
  private readonly activePath: string;
  private readonly replayingPath: string;
  private readonly inFlight = new Set<Promise<void>>();
  /** Serialises spool appends and replays so a replay never loses a line being appended. */
  private lock: Promise<unknown> = Promise.resolve();
  private spooled = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Recorded in this turn (or window), sent together. */
  private batch: UsageEvent[] = [];
  private scheduled = false;
  /** Events recorded so far, for the sampled schema check. */
  private recorded = 0;
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
    this.batch.push(event);
    if (this.batch.length >= (this.opts.maxBatch ?? 200)) this.sendBatch();
    else if (!this.scheduled) {
      this.scheduled = true;
      const windowMs = this.opts.batchWindowMs ?? 20;
      if (windowMs > 0) setTimeout(() => this.sendBatch(), windowMs);
      else setImmediate(() => this.sendBatch());
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
    this.checkSample(events);
    const p = this.enqueueOrSpool(events).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Schema check of every `validateEvery`-th event, off the request path (here, once per batch). */
  private checkSample(events: readonly UsageEvent[]): void {
    const every = this.opts.validateEvery ?? 1;
    for (const event of events) {
      if (this.recorded++ % every !== 0) continue;
      const checked = usageEventSchema.safeParse(event);
      if (!checked.success) {
        // A bug in the proxy, not a runtime condition: log loudly, still keep the data.
        this.opts.logger.error({ requestId: event.requestId, issues: checked.error.issues }, "usage event does not match the schema");
      }
    }
  }

  private async enqueueOrSpool(events: UsageEvent[]): Promise<void> {
    // BullMQ waits (not fails) for a connection that is not ready; don't wait, spool.
    if (this.opts.connection.status === "ready") {
      try {
        // One job for the turn. A batch that timed out but in fact landed comes back from the spool
        // (as the same job if sliced the same, else in another that the worker dedupes by request id).
        await withTimeout(enqueueUsageBulk(this.opts.queue, events), this.opts.enqueueTimeoutMs ?? 3000);
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
        // One batch job per slice; the slices are the same when a replay that died midway runs again.
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
