
/** A valid usage event; tests override what they care about. */
export { makeUsageEvent as usageEvent } from "@switchyard/contracts/testing";

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
