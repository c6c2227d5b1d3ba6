import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageEvent } from "@switchyard/contracts";
import { createRedisConnection } from "./connection";
import { createQueue, enqueueUsage, enqueueUsageBulk, parsePayload, type TypedQueue } from "./queues";

const redis = createRedisConnection("redis://127.0.0.1:6379/6");
let queue: TypedQueue<"usage">;

const event = (requestId: string): UsageEvent => ({
  requestId,
  occurredAt: new Date().toISOString(),
  orgId: "org",
  teamId: "team",
  virtualKeyId: "key",
  endUser: null,
  tags: {},
  endpoint: "chat.completions",
  requestedModel: "m",
  servedModel: "m",
  provider: "p",
  stream: false,
  status: 200,
  errorClass: null,
  usage: { inputTokens: 1, outputTokens: 2, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
  usageSource: "provider",
  costNanoUsd: "5",
  cacheStatus: "miss",
  latencyMs: 3,
  ttftMs: null,
  attempts: 1,
});

beforeAll(async () => {
  await redis.flushdb();
  queue = createQueue("usage", redis);
});
afterAll(async () => {
  await queue.close();
  await redis.quit();
});

describe("usage queue", () => {
  it("keeps one job per request id however often it is enqueued", async () => {
    await enqueueUsage(queue, event("req-a"));
    await enqueueUsage(queue, event("req-a"));
    await enqueueUsageBulk(queue, [event("req-a"), event("req-b")]);
    expect(await queue.getJobCounts("wait")).toEqual({ wait: 2 });
    const job = await queue.getJob("req-b");
    expect(parsePayload("usage", job?.data).requestId).toBe("req-b");
  });

  it("rejects a payload that is not a UsageEvent", () => {
    expect(() => parsePayload("usage", { ...event("x"), costNanoUsd: "1.5" })).toThrow();
  });
});
