import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions, type ConnectionOptions } from "bullmq";
import { QUEUE_NAMES, queuePayloadSchemas, type QueueName, type QueuePayload, type UsageEvent } from "@switchyard/contracts";

/** Defaults for every job: retried with backoff, kept briefly for dedupe by job id. */
export const defaultJobOptions: JobsOptions = {
  attempts: 10,
  backoff: { type: "exponential", delay: 500 },
  removeOnComplete: { age: 3600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export type TypedQueue<Q extends QueueName> = Queue<QueuePayload<Q>, unknown, string>;

export function createQueue<Q extends QueueName>(name: Q, connection: ConnectionOptions): TypedQueue<Q> {
  return new Queue<QueuePayload<Q>, unknown, string>(QUEUE_NAMES[name], { connection, defaultJobOptions });
}

/** A worker whose processor receives a payload already validated against the queue's schema. */
export function createTypedWorker<Q extends QueueName>(
  name: Q,
  processor: Processor<QueuePayload<Q>, unknown, string>,
  opts: WorkerOptions,
): Worker<QueuePayload<Q>, unknown, string> {
  return new Worker<QueuePayload<Q>, unknown, string>(QUEUE_NAMES[name], processor, opts);
}

export function parsePayload<Q extends QueueName>(name: Q, data: unknown): QueuePayload<Q> {
  return queuePayloadSchemas[name].parse(data);
}

/**
 * Enqueues a usage event. The job id is the request id, so a retried producer
 * does not create a second job while the first is retained.
 */
export async function enqueueUsage(queue: TypedQueue<"usage">, event: UsageEvent): Promise<void> {
  await queue.add("usage", event, { jobId: event.requestId });
}

export async function enqueueUsageBulk(queue: TypedQueue<"usage">, events: UsageEvent[]): Promise<void> {
  await queue.addBulk(events.map((e) => ({ name: "usage", data: e, opts: { ...defaultJobOptions, jobId: e.requestId } })));
}
