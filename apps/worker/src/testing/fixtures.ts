import type { UsageEvent } from "@switchyard/contracts";

/** A valid usage event; tests override what they care about. */
export function usageEvent(n: number, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    requestId: `req_${String(n).padStart(6, "0")}`,
    occurredAt: "2026-03-01T10:15:00.000Z",
    orgId: "org_1",
    teamId: "team_1",
    virtualKeyId: "vk_1",
    endUser: null,
    tags: {},
    endpoint: "chat.completions",
    requestedModel: "gpt-4o-mini",
    servedModel: "gpt-4o-mini",
    provider: "openai-main",
    stream: false,
    status: 200,
    errorClass: null,
    usage: {
      inputTokens: 100,
      outputTokens: 20,
      cachedInputTokens: 10,
      cacheWriteTokens: 0,
      reasoningTokens: 5,
    },
    usageSource: "provider",
    costNanoUsd: "27000",
    cacheStatus: "miss",
    latencyMs: 250,
    ttftMs: null,
    attempts: 1,
    ...over,
  };
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
