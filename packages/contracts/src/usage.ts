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
export const cacheStatusSchema = z.enum(["hit", "miss", "semantic-hit", "bypass"]);
export const endpointSchema = z.enum(["chat.completions", "embeddings", "messages"]);

/** Integer nano-USD as a decimal string (JSON has no BigInt). */
export const nanoUsdSchema = z.string().regex(/^\d+$/, "nano-USD must be a non-negative integer string");

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
  cacheStatus: cacheStatusSchema,
  latencyMs: z.number().int().nonnegative(),
  ttftMs: z.number().int().nonnegative().nullable(),
  attempts: z.number().int().nonnegative(),
});
export type UsageEvent = z.infer<typeof usageEventSchema>;
