import { z } from "zod";

/** Token counts of one request, as the provider reported them (or as we estimated). */
export const tokenUsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  /** Input tokens served from the provider's prompt cache (a subset of inputTokens). */
  cachedInputTokens: z.number().int().nonnegative().default(0),
  /** Input tokens written to the provider's prompt cache (Anthropic-style), a subset of inputTokens. */
  cacheWriteTokens: z.number().int().nonnegative().default(0),
  /** Reasoning tokens (a subset of outputTokens). */
  reasoningTokens: z.number().int().nonnegative().default(0),
});
export type TokenUsage = z.infer<typeof tokenUsageSchema>;

export const ZERO_USAGE: TokenUsage = {
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
};

export const usageSourceSchema = z.enum(["provider", "estimated", "none"]);
/** "coalesced": the answer of an identical request in flight at the same moment (one upstream call served both). */
export const cacheStatusSchema = z.enum(["hit", "miss", "semantic-hit", "bypass", "coalesced"]);

/** One upstream attempt of a request (the request log keeps them all when there was more than one clean attempt). */
export const attemptRecordSchema = z.object({
  /** The public model name of the target tried. */
  model: z.string(),
  provider: z.string(),
  /** The provider key's label (never the key). */
  providerKey: z.string().nullable(),
  /** Upstream HTTP status; 0 when no HTTP answer came (connection error, timeout). */
  status: z.number().int(),
  /** null: this attempt succeeded. */
  errorClass: z.string().nullable(),
  durationMs: z.number().int().nonnegative(),
  /** Wait before this attempt (backoff), in ms. */
  waitMs: z.number().int().nonnegative(),
});
export type AttemptRecord = z.infer<typeof attemptRecordSchema>;
export const endpointSchema = z.enum(["chat.completions", "embeddings", "messages"]);

/** Integer nano-USD as a decimal string (JSON has no BigInt). */
export const nanoUsdSchema = z.string().regex(/^\d+$/, "nano-USD must be a non-negative integer string");

/** Logged bodies of one request (see Team.bodyLogging). */
export const requestBodiesSchema = z.object({
  request: z.string(),
  response: z.string(),
  redacted: z.boolean(),
  /** Cut at the proxy's cap (PROXY_BODY_LOG_MAX_BYTES). */
  truncated: z.boolean(),
});
export type RequestBodies = z.infer<typeof requestBodiesSchema>;

/**
 * One UsageEvent per proxied request that got past authentication. The proxy is
 * its only producer, the worker its only consumer. `requestId` is the idempotency key.
 * Never carries a key or a prompt.
 */
export const usageEventSchema = z.object({
  requestId: z.string().min(1).max(64),
  occurredAt: z.iso.datetime(),
  orgId: z.string().min(1),
  teamId: z.string().min(1),
  virtualKeyId: z.string().min(1),
  endUser: z.string().max(256).nullable(),
  tags: z.record(z.string(), z.string()),
  endpoint: endpointSchema,
  requestedModel: z.string(),
  servedModel: z.string().nullable(),
  provider: z.string().nullable(),
  stream: z.boolean(),
  status: z.number().int(),
  errorClass: z.string().nullable(),
  usage: tokenUsageSchema,
  usageSource: usageSourceSchema,
  /** null when the model has no price: recorded as unpriced, never as $0. */
  costNanoUsd: nanoUsdSchema.nullable(),
  /**
   * Savings ledger: what this request would have cost on the model the client asked
   * for (an alias: its first target) with the same usage. null when that model has no
   * price. Absent in events spooled by older proxies.
   */
  requestedCostNanoUsd: nanoUsdSchema.nullable().default(null),
  cacheStatus: cacheStatusSchema,
  latencyMs: z.number().int().nonnegative(),
  ttftMs: z.number().int().nonnegative().nullable(),
  attempts: z.number().int().nonnegative(),
  /** Every upstream attempt, in order; empty for older events and requests that never reached a provider. */
  attemptLog: z.array(attemptRecordSchema).max(20).default([]),
  /**
   * Prompt and response bodies, only when the key's team has body logging on
   * (redacted first when it is "redacted"); null otherwise. Never holds a key.
   */
  bodies: requestBodiesSchema.nullable().default(null),
});
export type UsageEvent = z.infer<typeof usageEventSchema>;
export type UsageEventInput = z.input<typeof usageEventSchema>;

/**
 * Upper bounds (ms, inclusive) of the latency histogram buckets kept in usage_rollups
 * (latencyHist, ttftHist); one more bucket past the last counts everything slower.
 * Percentiles read from rollups are the upper bound of the bucket they fall in.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 30000, 60000, 120000,
];

/** Index of the histogram bucket a latency falls in (LATENCY_BUCKETS_MS.length = overflow). */
export function latencyBucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= (LATENCY_BUCKETS_MS[i] as number)) return i;
  return LATENCY_BUCKETS_MS.length;
}

/**
 * The p-th percentile (0 < p ≤ 1) of a histogram over LATENCY_BUCKETS_MS: the upper
 * bound of the bucket holding it (the overflow bucket reports the last bound). null
 * when the histogram is empty.
 */
export function histogramPercentile(hist: readonly number[], p: number): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] ?? 0;
    if (seen >= rank) return LATENCY_BUCKETS_MS[Math.min(i, LATENCY_BUCKETS_MS.length - 1)] as number;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] as number;
}
