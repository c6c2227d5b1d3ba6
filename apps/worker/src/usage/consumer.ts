import { UnrecoverableError, type Job, type Worker } from "bullmq";
import type { Redis } from "ioredis";
import { z } from "zod";
import { createTypedWorker, parsePayload } from "@switchyard/jobs";
import {
  USAGE_BATCH_MAX_EVENTS,
  usageEventSchema,
  usageEventsOf,
  type QueuePayload,
  type UsageEvent,
} from "@switchyard/contracts";
import type { PrismaClient } from "@switchyard/db";
import { UsageBatcher, type BatchLogger } from "./batcher";

export interface UsageConsumerOptions {
  prisma: PrismaClient;
  /** A BullMQ-ready connection (maxRetriesPerRequest: null), e.g. createRedisConnection. */
  connection: Redis;
  batchSize: number;
  batchWaitMs: number;
  /**
   * Jobs in hand at once, and (jobs carry batches) about the most events parked in the
   * batcher at once; a job bigger than that is taken alone.
   */
  concurrency: number;
  /** BullMQ job lock (ms); BullMQ's default when absent. */
  lockDuration?: number;
  /** How often stalled jobs (lock expired: their worker died) are taken back (ms). */
  stalledInterval?: number;
  /** BullMQ key prefix (BullMQ's "bull" when absent); the benchmark uses its own. */
  prefix?: string;
  logger?: BatchLogger;
  /** Called with the events of every committed batch. */
  onCommitted?: (events: readonly UsageEvent[]) => void;
}

export interface UsageConsumer {
  worker: Worker<QueuePayload<"usage">, unknown, string>;
  batcher: UsageBatcher;
  /** Stops taking jobs, commits the events in hand, closes the BullMQ worker. */
  close(): Promise<void>;
}

/**
 * Consumes the `usage` queue. A job is one event or a batch of them (one per proxy
 * event-loop turn); its events are parked in the batcher, which commits events of many
 * jobs together, and the job completes once all of its events are committed.
 * Concurrency is high on purpose: an active job is just events waiting for their batch.
 */
export function startUsageConsumer(opts: UsageConsumerOptions): UsageConsumer {
  const batcher = new UsageBatcher({
    prisma: opts.prisma,
    batchSize: opts.batchSize,
    waitMs: opts.batchWaitMs,
    logger: opts.logger,
    onCommitted: opts.onCommitted,
  });
  const gate = new ParkedEventsGate(opts.concurrency);
  const processor = async (job: Job<QueuePayload<"usage">, unknown, string>): Promise<void> => {
    const { events, invalid } = readUsageJob(job);
    await gate.enter(events.length);
    let results: PromiseSettledResult<void>[];
    try {
      results = await Promise.allSettled(events.map((e) => batcher.add(e)));
    } finally {
      gate.leave(events.length);
    }
    throwUnlessAllStored(job, events, invalid, results);
  };
  const worker = createTypedWorker("usage", processor, {
    connection: opts.connection,
    concurrency: opts.concurrency,
    ...(opts.lockDuration !== undefined && { lockDuration: opts.lockDuration }),
    ...(opts.stalledInterval !== undefined && { stalledInterval: opts.stalledInterval }),
    ...(opts.prefix !== undefined && { prefix: opts.prefix }),
  });
  worker.on("error", (err) => opts.logger?.error({ err: err.message }, "usage worker error"));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // close() stops fetching and waits for active jobs; those are parked in the
      // batcher, so flush it right away instead of waiting for the batch timer.
      const closed = worker.close();
      await batcher.drain();
      await closed;
      await batcher.drain();
    })());

  return { worker, batcher, close };
}

/**
 * Completes a job only if every one of its events is stored. If one failed for a reason
 * a retry can fix (database down, transaction failed), throws that error so BullMQ retries
 * the whole job (its events already committed are skipped by request id then). If the
 * only failures are permanent (malformed, rejected by the database), fails the job for
 * good naming them: the rest of it is committed, and the failed job keeps the whole
 * payload, so nothing is lost.
 */
function throwUnlessAllStored(
  job: Job<QueuePayload<"usage">, unknown, string>,
  events: readonly UsageEvent[],
  invalid: readonly InvalidEvent[],
  results: readonly PromiseSettledResult<void>[],
): void {
  const rejected = results.flatMap((r, i) =>
    r.status === "rejected"
      ? [{ requestId: events[i]?.requestId ?? "?", err: asError(r.reason) }]
      : [],
  );
  const retryable = rejected.find((r) => !(r.err instanceof UnrecoverableError));
  if (retryable) throw retryable.err;
  if (invalid.length === 0 && rejected.length === 1) throw rejected[0]!.err;
  if (invalid.length === 0 && rejected.length === 0) return;
  const bad = [
    ...invalid.map((b) => ({ requestId: b.requestId, why: `invalid usage event (${b.message})` })),
    ...rejected.map((r) => ({ requestId: r.requestId, why: r.err.message })),
  ];
  // Every bad request id, but the reasons of the first few only: failedReason lives in Redis.
  const reasons = bad.slice(0, 5).map((b) => `${b.requestId}: ${b.why}`);
  throw new UnrecoverableError(
    `${bad.length} of ${events.length + invalid.length} usage events in job ${job.id ?? "?"} not stored ` +
      `(the others are committed): ${bad.map((b) => b.requestId).join(", ")}; ${reasons.join("; ")}`,
  );
}

interface InvalidEvent {
  /** The event's request id if it has a readable one, else its position in the batch. */
  requestId: string;
  message: string;
}

const batchEnvelopeSchema = z.object({
  events: z.array(z.unknown()).min(1).max(USAGE_BATCH_MAX_EVENTS),
});

/**
 * Validates a job's payload: one UsageEvent or a batch of them. A payload that is
 * neither fails for good (it will be just as malformed next time). In a batch each event
 * is checked on its own, so one bad event does not hold back its neighbours.
 */
function readUsageJob(job: Job<QueuePayload<"usage">, unknown, string>): {
  events: UsageEvent[];
  invalid: InvalidEvent[];
} {
  const data: unknown = job.data;
  const batch = batchEnvelopeSchema.safeParse(data);
  if (!batch.success) {
    try {
      return { events: usageEventsOf(parsePayload("usage", data)), invalid: [] };
    } catch (err) {
      throw new UnrecoverableError(
        `invalid usage event in job ${job.id ?? "?"}: ${asError(err).message}`,
      );
    }
  }
  const events: UsageEvent[] = [];
  const invalid: InvalidEvent[] = [];
  batch.data.events.forEach((raw, i) => {
    const parsed = usageEventSchema.safeParse(raw);
    if (parsed.success) events.push(parsed.data);
    else invalid.push({ requestId: requestIdOf(raw) ?? `#${i}`, message: parsed.error.message });
  });
  return { events, invalid };
}

function requestIdOf(raw: unknown): string | undefined {
  const id =
    typeof raw === "object" && raw !== null
      ? (raw as { requestId?: unknown }).requestId
      : undefined;
  return typeof id === "string" && id !== "" ? id.slice(0, 64) : undefined;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Bounds the events parked in the batcher. BullMQ's concurrency counts jobs, and a batch
 * job carries up to USAGE_BATCH_MAX_EVENTS events: without a bound, a backlog of batch
 * jobs would park hundreds of thousands of events (logged bodies included) and start
 * hundreds of transactions at once, more than the Prisma pool can begin within its
 * maxWait. With it the worker holds about as many events as it held jobs when each job
 * was one event. A job waits here while BullMQ keeps renewing its lock; any job fits into
 * an empty batcher however big it is.
 */
class ParkedEventsGate {
  private parked = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async enter(n: number): Promise<void> {
    while (this.parked > 0 && this.parked + n > this.limit)
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.parked += n;
  }

  leave(n: number): void {
    this.parked -= n;
    for (const wake of this.waiters.splice(0)) wake();
  }
}
