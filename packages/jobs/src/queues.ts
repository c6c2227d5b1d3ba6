import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions, type ConnectionOptions } from "bullmq";
import { createHash } from "node:crypto";
import {
  QUEUE_NAMES,
  queuePayloadSchemas,
  USAGE_BATCH_MAX_EVENTS,
  usageEventsOf,
  type QueueName,
  type QueuePayload,
  type UsageEvent,
} from "@switchyard/contracts";

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
 * Enqueues one usage event as a job of its own (enqueueUsageBulk with one event). The job
 * id is the request id, so a retried producer does not create a second job while the
 * first is retained.
 */
export async function enqueueUsage(queue: TypedQueue<"usage">, event: UsageEvent): Promise<void> {
  await enqueueUsageBulk(queue, [event]);
}

/**
 * The job id of a batch: `batch-<count>-<first request id>-<hash of every request id>`,
 * a function of the batch's request ids, so re-sending the same batch (an enqueue that
 * timed out but landed, then replayed from the spool in the same slices; a replay that
 * died midway and runs again) is one job while the first is retained. The hash keeps two
 * different batches that happen to share their first event and size from collapsing into
 * one job, which would silently drop the second one's other events. Anything a job id
 * cannot catch (a replay sliced differently) the worker dedupes on request id.
 * No ":" (BullMQ reserves it in custom ids).
 */
export function usageBatchJobId(events: readonly UsageEvent[]): string {
  const hash = createHash("sha1");
  for (const e of events) hash.update(e.requestId).update("\n");
  return `batch-${events.length}-${events[0]?.requestId ?? ""}-${hash.digest("hex").slice(0, 16)}`;
}

type UsageJob = { name: string; data: QueuePayload<"usage">; opts: JobsOptions };

function usageJob(events: UsageEvent[]): UsageJob {
  const [only] = events;
  // Object.assign, not `{ ...defaultJobOptions, jobId }`: on Node 20's V8 a spread object that is
  // then extended gets a new hidden class every time, and BullMQ reads its options through cache misses.
  if (events.length === 1 && only) return { name: "usage", data: only, opts: Object.assign({}, defaultJobOptions, { jobId: only.requestId }) };
  return { name: "usage-batch", data: { events }, opts: Object.assign({}, defaultJobOptions, { jobId: usageBatchJobId(events) }) };
}

/**
 * Enqueues events as ONE job (a batch; a lone event stays a plain job whose id is its
 * request id), split only past USAGE_BATCH_MAX_EVENTS. One job per batch instead of one
 * per event: BullMQ's per-job cost (a Lua script, an event-stream entry, the Job
 * object) is paid once.
 */
export async function enqueueUsageBulk(queue: TypedQueue<"usage">, events: readonly UsageEvent[]): Promise<void> {
  const jobs: UsageJob[] = [];
  for (let i = 0; i < events.length; i += USAGE_BATCH_MAX_EVENTS) jobs.push(usageJob(events.slice(i, i + USAGE_BATCH_MAX_EVENTS)));
  const [only] = jobs;
  if (jobs.length === 1 && only) await queue.add(only.name, only.data, only.opts);
  else if (jobs.length > 1) await queue.addBulk(jobs);
}

/** Job states a usage event can be found in (until removeOnComplete / removeOnFail drop the job). */
const ALL_STATES = ["waiting", "prioritized", "delayed", "active", "completed", "failed"] as const;

/**
 * Every usage event held by the queue's jobs in these states, batch jobs unpacked.
 * Reads every job: for tests and tooling, not for a hot path.
 */
export async function queuedUsageEvents(
  queue: TypedQueue<"usage">,
  states: readonly (typeof ALL_STATES)[number][] = ALL_STATES,
): Promise<UsageEvent[]> {
  const jobs = await queue.getJobs([...states], 0, -1);
  return jobs.flatMap((j) => (j.data ? usageEventsOf(j.data) : []));
}

/** The queued usage event of one request (a job of its own, or inside a batch), if any. */
export async function findQueuedUsageEvent(queue: TypedQueue<"usage">, requestId: string): Promise<UsageEvent | undefined> {
  const own = await queue.getJob(requestId);
  const direct = own?.data ? usageEventsOf(own.data).find((e) => e.requestId === requestId) : undefined;
  return direct ?? (await queuedUsageEvents(queue)).find((e) => e.requestId === requestId);
}
