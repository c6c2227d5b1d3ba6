import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeUsageEvent } from "@switchyard/contracts/testing";
import { createRedisConnection } from "./connection";
import { createQueue, enqueueUsage, enqueueUsageBulk, parsePayload, type TypedQueue } from "./queues";

const redis = createRedisConnection("redis://127.0.0.1:6379/6");
let queue: TypedQueue<"usage">;

const event = (requestId: string) => makeUsageEvent(requestId);

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
