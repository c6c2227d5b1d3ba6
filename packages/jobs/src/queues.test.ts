import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { USAGE_BATCH_MAX_EVENTS, usageEventsOf } from "@switchyard/contracts";
import { makeUsageEvent } from "@switchyard/contracts/testing";
import { createRedisConnection } from "./connection";
import {
  createQueue,
  enqueueUsage,
  enqueueUsageBulk,
  findQueuedUsageEvent,
  parsePayload,
  queuedUsageEvents,
  usageBatchJobId,
  type TypedQueue,
} from "./queues";

const redis = createRedisConnection("redis://127.0.0.1:6379/6");
let queue: TypedQueue<"usage">;

const event = (requestId: string) => makeUsageEvent(requestId);

beforeAll(() => {
  queue = createQueue("usage", redis);
});
beforeEach(async () => {
  await redis.flushdb();
});
afterAll(async () => {
  await queue.close();
  await redis.quit();
});

describe("usage queue", () => {
  it("keeps one job per request id however often a lone event is enqueued", async () => {
    await enqueueUsage(queue, event("req-a"));
    await enqueueUsage(queue, event("req-a"));
    await enqueueUsageBulk(queue, [event("req-a")]);
    expect(await queue.getJobCounts("wait")).toEqual({ wait: 1 });
    const job = await queue.getJob("req-a");
    expect(job?.name).toBe("usage");
    expect(parsePayload("usage", job?.data)).toMatchObject({ requestId: "req-a" });
  });

  it("puts the events of one bulk call in one job, once however often it is sent", async () => {
    const events = [event("req-1"), event("req-2"), event("req-3")];
    await enqueueUsageBulk(queue, events);
    await enqueueUsageBulk(queue, events); // a timed-out send that landed, replayed in the same slice
    expect(await queue.getJobCounts("wait")).toEqual({ wait: 1 });
    const [job] = await queue.getJobs(["wait"]);
    expect(job?.name).toBe("usage-batch");
    expect(job?.id).toBe(usageBatchJobId(events));
    expect(usageEventsOf(parsePayload("usage", job?.data)).map((e) => e.requestId)).toEqual(["req-1", "req-2", "req-3"]);
  });

  it("gives batches with the same first event and size different job ids", () => {
    const a = usageBatchJobId([event("req-1"), event("req-2")]);
    const b = usageBatchJobId([event("req-1"), event("req-9")]);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^batch-2-req-1-[0-9a-f]{16}$/);
  });

  it("splits a bulk call past the batch maximum, and finds every event however it is queued", async () => {
    const many = Array.from({ length: USAGE_BATCH_MAX_EVENTS + 1 }, (_, i) => makeUsageEvent(i));
    await enqueueUsageBulk(queue, many);
    await enqueueUsage(queue, event("req-alone"));
    const jobs = await queue.getJobs(["wait"]);
    expect(jobs.map((j) => usageEventsOf(j.data).length).sort((x, y) => x - y)).toEqual([1, 1, USAGE_BATCH_MAX_EVENTS]);
    const queued = await queuedUsageEvents(queue);
    expect(queued).toHaveLength(USAGE_BATCH_MAX_EVENTS + 2);
    expect(new Set(queued.map((e) => e.requestId)).size).toBe(USAGE_BATCH_MAX_EVENTS + 2);
    expect((await findQueuedUsageEvent(queue, "req_000500"))?.requestId).toBe("req_000500");
    expect((await findQueuedUsageEvent(queue, "req-alone"))?.requestId).toBe("req-alone");
    expect(await findQueuedUsageEvent(queue, "req-never")).toBeUndefined();
  });

  it("rejects a payload that is not a UsageEvent or a batch of them", () => {
    expect(() => parsePayload("usage", { ...event("x"), costNanoUsd: "1.5" })).toThrow();
    expect(() => parsePayload("usage", { events: [event("a"), { ...event("b"), costNanoUsd: "1.5" }] })).toThrow();
  });
});
