import { z } from "zod";
import { usageEventSchema, type UsageEvent } from "./usage";

/** Most usage events one `usage` job may carry (a proxy sends one job per event-loop turn). */
export const USAGE_BATCH_MAX_EVENTS = 1000;

/** Several usage events in one job: one Redis script call and one job's overhead for all of them. */
export const usageBatchSchema = z.object({
  events: z.array(usageEventSchema).min(1).max(USAGE_BATCH_MAX_EVENTS),
});
export type UsageBatch = z.infer<typeof usageBatchSchema>;

/**
 * A `usage` job's payload: one UsageEvent (what older proxies enqueue, and still the
 * form of a lone event) or a batch of them.
 */
export const usagePayloadSchema = z.union([usageEventSchema, usageBatchSchema]);

/** Queue name → payload schema. Producers and consumers are typed from this one map. */
export const queuePayloadSchemas = {
  usage: usagePayloadSchema,
} as const;

export type QueueName = keyof typeof queuePayloadSchemas;
export type QueuePayload<Q extends QueueName> = z.infer<(typeof queuePayloadSchemas)[Q]>;
export const QUEUE_NAMES = { usage: "usage" } as const satisfies Record<QueueName, QueueName>;

/** The usage events a `usage` job carries, whichever form it has. */
export function usageEventsOf(payload: QueuePayload<"usage">): UsageEvent[] {
  return "events" in payload ? payload.events : [payload];
}
