
import type { UsageEvent } from "@switchyard/contracts";
import { enqueueUsageBulk, type TypedQueue } from "@switchyard/jobs";

/** A valid usage event; tests override what they care about. */
export { makeUsageEvent as usageEvent } from "@switchyard/contracts/testing";

/**
 * Enqueues events as a proxy does: one batch job per `size` events (one per event-loop
 * turn). Returns the number of jobs.
 */
export async function enqueueInBatches(
  queue: TypedQueue<"usage">,
  events: readonly UsageEvent[],
  size: number,
): Promise<number> {
  let jobs = 0;
  for (let i = 0; i < events.length; i += size, jobs++)
    await enqueueUsageBulk(queue, events.slice(i, i + size));
  return jobs;
}

export async function waitFor(
  cond: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const TEST_REDIS_URL = "redis://127.0.0.1:6379/2";
