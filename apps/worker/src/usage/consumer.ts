import { UnrecoverableError, type Job, type Worker } from "bullmq";
import type { Redis } from "ioredis";
import { createTypedWorker, parsePayload } from "@switchyard/jobs";
import type { QueuePayload, UsageEvent } from "@switchyard/contracts";
import type { PrismaClient } from "@switchyard/db";
import { UsageBatcher, type BatchLogger } from "./batcher";

export interface UsageConsumerOptions {
  prisma: PrismaClient;
  /** A BullMQ-ready connection (maxRetriesPerRequest: null), e.g. createRedisConnection. */
  connection: Redis;
  batchSize: number;
  batchWaitMs: number;
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
 * Consumes the `usage` queue. Concurrency is high on purpose: every active job is
 * just an event parked in the batcher until its batch commits.
 */
export function startUsageConsumer(opts: UsageConsumerOptions): UsageConsumer {
  const batcher = new UsageBatcher({
    prisma: opts.prisma,
    batchSize: opts.batchSize,
    waitMs: opts.batchWaitMs,
    logger: opts.logger,
    onCommitted: opts.onCommitted,
  });
  const processor = async (job: Job<QueuePayload<"usage">, unknown, string>): Promise<void> => {
    let event: QueuePayload<"usage">;
    try {
      event = parsePayload("usage", job.data);
    } catch (err) {
      // A malformed payload will be just as malformed next time: fail it for good.
      throw new UnrecoverableError(
        `invalid usage event in job ${job.id ?? "?"}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    await batcher.add(event);
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
