import type { z } from "zod";
import { usageEventSchema } from "./usage";

/** Queue name → payload schema. Producers and consumers are typed from this one map. */
export const queuePayloadSchemas = {
  usage: usageEventSchema,
} as const;

export type QueueName = keyof typeof queuePayloadSchemas;
export type QueuePayload<Q extends QueueName> = z.infer<(typeof queuePayloadSchemas)[Q]>;
export const QUEUE_NAMES = { usage: "usage" } as const satisfies Record<QueueName, QueueName>;
