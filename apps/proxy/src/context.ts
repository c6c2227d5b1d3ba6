import { randomFillSync } from "node:crypto";
import type { Dispatcher } from "undici";
import { ZERO_USAGE, type AttemptRecord, type ModelPricing, type TokenUsage, type UsageEvent } from "@switchyard/contracts";
import { computeCostNanoUsd } from "@switchyard/pricing";
import type { Embedder } from "./cache/embedder";
import type { ExactCache } from "./cache/exact";
import type { InflightRequests } from "./cache/coalesce";
import type { SemanticIndex } from "./cache/semantic";
import type { Limits, RequestLimits } from "./limits";
import type { HealthMonitor } from "./routing/health";
import type { Logger } from "./logger";
import type { ProxyMetrics } from "./metrics";
import type { BodyLogging, KeyEntry, ModelEntry, Snapshot } from "./snapshot";

export type Endpoint = UsageEvent["endpoint"];

/** What one request learns on its way through; turned into the usage event and the log line. */
export interface RequestContext {
  requestId: string;
  /** The client's own x-request-id, if any: logged, never used as the idempotency key. */
  clientRequestId: string | null;
  method: string;
  path: string;
  /** performance.now() at arrival. */
  startedAt: number;
  occurredAt: Date;
  /** Set for endpoints that produce usage events. */
  endpoint: Endpoint | null;
  key: KeyEntry | null;
  endUser: string | null;
  tags: Record<string, string>;
  requestedModel: string;
  servedModel: string | null;
  provider: string | null;
  stream: boolean;
  status: number;
  errorClass: string | null;
  /** Provider-reported usage; null when none was seen. */
  usage: TokenUsage | null;
  /** Set to "estimated" by a route that counted `usage` itself (tokenizer); unset = provider or none. */
  usageSource?: UsageEvent["usageSource"];
  /** undefined: no model was resolved; null: the model is unpriced. Includes the org's price override. */
  pricing: ModelPricing | null | undefined;
  /**
   * Savings ledger: the price of the model the client asked for (an alias: its first
   * target), with the org's override; null when unpriced; undefined when no model was resolved.
   */
  requestedPricing: ModelPricing | null | undefined;
  cacheStatus: UsageEvent["cacheStatus"];
  /** SSE events forwarded to the client (streams only). */
  chunks: number;
  /** The key's team body-logging mode; "off" keeps no body in memory. */
  bodyLogging: BodyLogging;
  /** The raw request body, kept only when bodyLogging is not "off". */
  requestBody: string | null;
  /** The response as logged (JSON body, or a stream's assembled output), only when bodyLogging is not "off". */
  responseBody: string | null;
  ttftMs: number | null;
  /** Set when the request came through a strict route: dropped parameters become a 400. */
  strictRoute: string | null;
  attempts: number;
  /** Every upstream attempt, in order (the request log keeps them). */
  attemptLog: AttemptRecord[];
  clientAborted: boolean;
  /**
   * What earlier answers of this request cost that were thrown away and retried elsewhere
   * (route retry.onEmptyLength): the provider billed them, so the event adds them in.
   */
  billedBefore: { usage: TokenUsage; costNanoUsd: bigint | null; requestedCostNanoUsd: bigint | null } | null;
  /** Embedding calls made for the semantic cache: each is billed as a usage event of its own. */
  embeddingCalls: { model: ModelEntry; usage: TokenUsage; latencyMs: number }[];
  /** Size of the request body in bytes (routing skips token counting for bodies too small to matter). */
  requestBytes: number;
  /** Aborts the upstream call when the client goes away. */
  abortUpstream: (() => void) | null;
  /** Set once the request passed its rate limits and budgets; settled after the response. */
  limits: RequestLimits | null;
}

/** Random bytes for request ids, refilled from the CSPRNG every 256 ids. */
let idBytes = Buffer.alloc(0);
let idOffset = 0;

/**
 * `req_` and 32 hex digits, 128 random bits. From a pool filled by the CSPRNG rather than
 * randomUUID() with its dashes removed by a RegExp: ~0.5 µs against ~1.5 µs a request.
 */
export function newRequestId(): string {
  if (idOffset + 16 > idBytes.length) {
    idBytes = randomFillSync(Buffer.allocUnsafe(4096));
    idOffset = 0;
  }
  const id = `req_${idBytes.toString("hex", idOffset, idOffset + 16)}`;
  idOffset += 16;
  return id;
}

export function newRequestContext(method: string, path: string): RequestContext {
  return {
    // Always ours: the request id is the idempotency key of usage ingestion, so a
    // client-chosen id (repeated, or someone else's) could make events vanish as duplicates.
    requestId: newRequestId(),
    clientRequestId: null,
    method,
    path,
    startedAt: performance.now(),
    occurredAt: new Date(),
    endpoint: null,
    key: null,
    endUser: null,
    tags: {},
    requestedModel: "",
    servedModel: null,
    provider: null,
    stream: false,
    status: 0,
    errorClass: null,
    usage: null,
    pricing: undefined,
    requestedPricing: undefined,
    cacheStatus: "miss",
    chunks: 0,
    bodyLogging: "off",
    requestBody: null,
    responseBody: null,
    ttftMs: null,
    strictRoute: null,
    attempts: 0,
    attemptLog: [],
    clientAborted: false,
    requestBytes: 0,
    embeddingCalls: [],
    billedBefore: null,
    abortUpstream: null,
    limits: null,
  };
}

/**
 * Cost in nano-USD: null when the served model has no price (unpriced, never $0); 0
 * when no model was resolved (nothing was sent to a provider).
 */
export function costOf(ctx: RequestContext): bigint | null {
  if (answeredWithoutCall(ctx)) return 0n;
  return plusBilledBefore(priceUsage(ctx, ctx.pricing), ctx.billedBefore?.costNanoUsd);
}

function plusBilledBefore(cost: bigint | null, before: bigint | null | undefined): bigint | null {
  if (before === undefined) return cost;
  return cost === null || before === null ? null : cost + before;
}

/** The tokens the event reports: this answer's plus those of answers billed and retried before it. */
export function billedUsage(ctx: RequestContext): TokenUsage | null {
  const before = ctx.billedBefore?.usage;
  if (!before) return ctx.usage;
  const now = ctx.usage ?? ZERO_USAGE;
  return {
    inputTokens: now.inputTokens + before.inputTokens,
    outputTokens: now.outputTokens + before.outputTokens,
    cachedInputTokens: now.cachedInputTokens + before.cachedInputTokens,
    cacheWriteTokens: now.cacheWriteTokens + before.cacheWriteTokens,
    reasoningTokens: now.reasoningTokens + before.reasoningTokens,
  };
}

/** Cache hits and coalesced requests: no provider call of their own, so $0 (the saving is recorded). */
function answeredWithoutCall(ctx: RequestContext): boolean {
  return ctx.cacheStatus === "hit" || ctx.cacheStatus === "semantic-hit" || ctx.cacheStatus === "coalesced";
}

/**
 * Savings ledger: the same usage priced on the model the client asked for. Equal to
 * costOf when the requested name is the served model; null when that model is unpriced.
 */
export function requestedCostOf(ctx: RequestContext, cost?: bigint | null): bigint | null {
  // Usually the same price object as the served model's: the cost already computed is the answer.
  if (cost !== undefined && ctx.requestedPricing === ctx.pricing && !answeredWithoutCall(ctx)) return cost;
  return plusBilledBefore(priceUsage(ctx, ctx.requestedPricing), ctx.billedBefore?.requestedCostNanoUsd);
}

function priceUsage(ctx: RequestContext, pricing: ModelPricing | null | undefined): bigint | null {
  if (pricing === undefined) return 0n;
  if (pricing === null) return null;
  return computeCostNanoUsd(ctx.usage ?? ZERO_USAGE, pricing);
}

/** Keeps a body for logging only when the team logs bodies (off: nothing is held). */
export function keepRequestBody(ctx: RequestContext, raw: Buffer): void {
  if (ctx.bodyLogging !== "off") ctx.requestBody = raw.toString("utf8");
}

export function keepResponseBody(ctx: RequestContext, body: Buffer | string): void {
  if (ctx.bodyLogging !== "off") ctx.responseBody = typeof body === "string" ? body : body.toString("utf8");
}

export interface ProxyConfig {
  maxBodyBytes: number;
  upstreamHeadersTimeoutMs: number;
  upstreamBodyTimeoutMs: number;
  /** Cap on each logged body (PROXY_BODY_LOG_MAX_BYTES). */
  bodyLogMaxBytes: number;
  /** Bound on all attempts and waits of one request until its answer starts (PROXY_REQUEST_DEADLINE_MS). */
  requestDeadlineMs: number;
  streamFirstByteTimeoutMs: number;
  maxAttempts: number;
  retryBaseBackoffMs: number;
  retryMaxBackoffMs: number;
}

/** Everything a route handler may use. */
export interface RouteDeps {
  config: ProxyConfig;
  getSnapshot: () => Snapshot | null;
  dispatcher: Dispatcher;
  metrics: ProxyMetrics;
  logger: Logger;
  /** Rate limits and budgets; null when the proxy runs without them (no limits connection). */
  limits: Limits | null;
  /** Target health (circuits, latency, key cooldowns); null: every target counts as healthy. */
  health: HealthMonitor | null;
  /** Exact response cache; null: routes do not cache. */
  cache: ExactCache | null;
  semantic: SemanticIndex | null;
  embed: Embedder | null;
  /** Identical cacheable requests in flight share one upstream call. */
  inflight: InflightRequests | null;
}
