import { describe, expect, it } from "vitest";
import { queuePayloadSchemas, USAGE_BATCH_MAX_EVENTS, usageEventsOf } from "./queues";
import { makeUsageEvent } from "./testing";

const usage = queuePayloadSchemas.usage;

describe("usage queue payload", () => {
  it("takes a single UsageEvent, as older proxies enqueue it", () => {
    const payload = usage.parse(makeUsageEvent(1));
    expect(usageEventsOf(payload).map((e) => e.requestId)).toEqual(["req_000001"]);
  });

  it("takes a batch of events and gives them back in order, defaults applied", () => {
    const { requestedCostNanoUsd: _, ...older } = makeUsageEvent(2);
    const payload = usage.parse({ events: [makeUsageEvent(1), older, makeUsageEvent(3)] });
    const events = usageEventsOf(payload);
    expect(events.map((e) => e.requestId)).toEqual(["req_000001", "req_000002", "req_000003"]);
    expect(events[1]?.requestedCostNanoUsd).toBeNull();
  });

  it("rejects an empty batch, an oversized one and one with a malformed event", () => {
    expect(usage.safeParse({ events: [] }).success).toBe(false);
    const tooMany = Array.from({ length: USAGE_BATCH_MAX_EVENTS + 1 }, (_, i) => makeUsageEvent(i));
    expect(usage.safeParse({ events: tooMany }).success).toBe(false);
    expect(usage.safeParse({ events: tooMany.slice(0, USAGE_BATCH_MAX_EVENTS) }).success).toBe(
      true,
    );
    expect(
      usage.safeParse({ events: [makeUsageEvent(1), { ...makeUsageEvent(2), costNanoUsd: "1.5" }] })
        .success,
    ).toBe(false);
    expect(usage.safeParse({ requestId: "bad" }).success).toBe(false);
  });
});
