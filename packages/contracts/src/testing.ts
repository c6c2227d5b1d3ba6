import type { UsageEvent } from "./usage";

/**
 * A valid UsageEvent for tests; each test overrides what it is about. Request ids are
 * `req_000001`… so events built from different numbers never collide.
 */
export function makeUsageEvent(n: number | string, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    requestId: typeof n === "number" ? `req_${String(n).padStart(6, "0")}` : n,
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
    usage: { inputTokens: 100, outputTokens: 20, cachedInputTokens: 10, cacheWriteTokens: 0, reasoningTokens: 5 },
    usageSource: "provider",
    costNanoUsd: "27000",
    requestedCostNanoUsd: "27000",
    cacheStatus: "miss",
    latencyMs: 250,
    ttftMs: null,
    attempts: 1,
    attemptLog: [],
    bodies: null,
    ...over,
  };
}
