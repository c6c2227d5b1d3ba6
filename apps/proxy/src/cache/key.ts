/**
 * Keys of the exact response cache: a namespace per organisation (or team), then the
 * sha256 of the request reduced to what decides the answer.
 */
import { createHash } from "node:crypto";
import type { ChatCompletionRequest } from "@switchyard/contracts";

/** Bumped whenever normalisation changes, so answers stored under the old rules stop matching. */
const KEY_VERSION = 1;

/**
 * Whose requests share answers. "org" (the default): every key of the organisation;
 * "team": each team apart. Ids only: the namespace is readable in Redis so an
 * organisation's answers can be found (and purged) by pattern.
 */
export function cacheNamespace(scope: "org" | "team", key: { orgId: string; teamId: string }): string {
  return scope === "team" ? `org:${key.orgId}:team:${key.teamId}` : `org:${key.orgId}`;
}

/**
 * Top-level fields that change how an answer is delivered, billed or tracked, never what
 * it says. `model` is left out because the caller passes the model the client asked for
 * (a route alias stays an alias); `stream` and `stream_options` because a cached answer
 * is replayed in either form; `user`, `safety_identifier`, `metadata`, `store` and
 * `prompt_cache_key` are bookkeeping at the provider; `service_tier` is speed and price.
 */
const DELIVERY_FIELDS = new Set([
  "model",
  "stream",
  "stream_options",
  "user",
  "safety_identifier",
  "metadata",
  "store",
  "prompt_cache_key",
  "service_tier",
]);

/** Fields that only mean something alongside `tools`. */
const TOOL_ONLY_FIELDS = new Set(["tool_choice", "parallel_tool_calls"]);

/**
 * Objects whose key order the model sees and may follow: a JSON schema's property order
 * is the order structured outputs write fields in. Kept as sent (a different order is a
 * miss, never a wrong hit).
 */
function isOrderSensitive(path: readonly string[]): boolean {
  const [a, b, c, d] = path;
  // tools[i].function.parameters
  if (a === "tools" && c === "function" && d === "parameters" && path.length === 4 && b !== undefined) return true;
  // response_format.json_schema.schema
  return a === "response_format" && b === "json_schema" && c === "schema" && path.length === 3;
}

/** Deep copy with object keys sorted (except where order is meaning, see isOrderSensitive). */
function canonical(value: unknown, path: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => canonical(v, [...path, String(i)]));
  if (value === null || typeof value !== "object") return value;
  if (isOrderSensitive(path)) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = canonical(v, [...path, k]);
  }
  return out;
}

/**
 * The request reduced to what decides the answer. Top-level nulls count as absent (they
 * mean "provider default" in OpenAI's API); `n: 1` and `logprobs: false` are the
 * defaults; `max_tokens` and `max_completion_tokens` are one limit (the latter wins when
 * both are set, as at OpenAI).
 */
export function normaliseForCache(body: ChatCompletionRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
  for (const [k, v] of Object.entries(body)) {
    if (v === null || v === undefined || DELIVERY_FIELDS.has(k)) continue;
    if (TOOL_ONLY_FIELDS.has(k) && !hasTools) continue;
    if (k === "tools" && !hasTools) continue;
    if (k === "max_tokens" || k === "max_completion_tokens") continue;
    if (k === "n" && v === 1) continue;
    if (k === "logprobs" && v === false) continue;
    fields[k] = v;
  }
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) fields.max_completion_tokens = maxTokens;
  return canonical(fields, []) as Record<string, unknown>;
}

/**
 * The cache key of a chat request: `<namespace>:<sha256 hex>`. `requestedModel` is the
 * public model or route alias the client named, so two routes never share answers.
 */
export function exactCacheKey(namespace: string, requestedModel: string, body: ChatCompletionRequest): string {
  const material = JSON.stringify({ v: KEY_VERSION, namespace, model: requestedModel, request: normaliseForCache(body) });
  return `${namespace}:${createHash("sha256").update(material).digest("hex")}`;
}

/**
 * Why a request must not use the exact cache, or null when it may. Logprobs are per
 * sampled token and neither assembled from streams nor replayed, so such answers are
 * neither stored nor served.
 */
export function exactCacheBypassReason(body: ChatCompletionRequest): string | null {
  if (body.logprobs === true) return "logprobs";
  return null;
}
