import { randomUUID } from "node:crypto";
import type { Dispatcher } from "undici";
import { ZERO_USAGE, type AttemptRecord, type ModelPricing, type TokenUsage, type UsageEvent } from "@switchyard/contracts";
import { computeCostNanoUsd } from "@switchyard/pricing";
import type { Limits, RequestLimits } from "./limits";
import type { Logger } from "./logger";
import type { ProxyMetrics } from "./metrics";
import type { BodyLogging, KeyEntry, Snapshot } from "./snapshot";

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
  /** Aborts the upstream call when the client goes away. */
  abortUpstream: (() => void) | null;
  /** Set once the request passed its rate limits and budgets; settled after the response. */
  limits: RequestLimits | null;
}

export function newRequestContext(method: string, path: string): RequestContext {
  return {
    // Always ours: the request id is the idempotency key of usage ingestion, so a
    // client-chosen id (repeated, or someone else's) could make events vanish as duplicates.
    requestId: `req_${randomUUID().replace(/-/g, "")}`,
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
    abortUpstream: null,
    limits: null,
  };
}

/**
 * Cost in nano-USD: null when the served model has no price (unpriced, never $0); 0
 * when no model was resolved (nothing was sent to a provider).
 */
export function costOf(ctx: RequestContext): bigint | null {
  return priceUsage(ctx, ctx.pricing);
}

/**
 * Savings ledger: the same usage priced on the model the client asked for. Equal to
 * costOf when the requested name is the served model; null when that model is unpriced.
 */
export function requestedCostOf(ctx: RequestContext, cost?: bigint | null): bigint | null {
  // Usually the same price object as the served model's: the cost already computed is the answer.
  if (cost !== undefined && ctx.requestedPricing === ctx.pricing) return cost;
  return priceUsage(ctx, ctx.requestedPricing);
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
}
