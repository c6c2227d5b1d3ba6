/**
 * Retries and failover: sends a chat request to the planned targets in turn, deciding
 * after each failure by its class (providers' classifyError) whether to wait and try
 * the same target again, move to the next target at once, or give up. Every attempt
 * is recorded on the request (ctx.attemptLog) and reported to the health monitor.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { AppError, type AttemptRecord, type ChatCompletionRequest } from "@switchyard/contracts";
import { getProviderAdapter, type PreparedChatRequest, type ProviderAdapter, type UpstreamErrorInfo } from "@switchyard/providers";
import type { RequestContext } from "../context";
import { pickProviderKey, type ModelEntry, type ProviderKeyEntry } from "../snapshot";
import { requestUpstream, UpstreamAbort, type UpstreamReply } from "../upstream-request";

/** What failover needs of the health monitor (routing/health.ts implements it). */
export interface TargetHealth {
  record(target: string, outcome: "ok" | "error", latencyMs?: number): void;
  begin(target: string): void;
  end(target: string): void;
  coolDownKey(keyId: string, ms: number): void;
  keyCoolingDown(keyId: string): boolean;
}

export interface FailoverSettings {
  maxAttempts: number;
  /** performance.now() after which no new attempt or wait starts. */
  deadlineAt: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Streams: the first byte must come within this (else the next target, invisibly). */
  firstByteTimeoutMs: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Retries of one target after 429s (with backoff) before moving on. */
  rateLimitRetries: number;
  random?: () => number;
}

/** A started upstream answer: 2xx headers, and for streams the first chunk already read. */
export interface ProviderCall {
  adapter: ProviderAdapter;
  model: ModelEntry;
  prepared: PreparedChatRequest;
  /** Its status, headers and body; a stream's body with `firstChunk` already taken from it. */
  upstream: UpstreamReply;
  /** Streams: the first chunk of the body, already read (null for a non-streaming call). */
  firstChunk: Buffer | null;
}

/** One attempt's failure, classified. */
interface AttemptFailure {
  error: AppError;
  /** 0 when no HTTP answer came. */
  status: number;
  errorClass: string;
  kind: UpstreamErrorInfo["kind"] | "connection";
  retryAfterMs: number | null;
  /** Counts against the target's health (provider-side failure). */
  unhealthy: boolean;
}

/** The next step after a failure. */
type Decision = { action: "fail" } | { action: "same"; waitMs: number } | { action: "next"; pick: (m: ModelEntry) => boolean };

/** Parses retry-after: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | undefined, bodySeconds: number | null | undefined, now = Date.now()): number | null {
  if (header !== undefined && header.trim() !== "") {
    const secs = Number(header);
    if (Number.isFinite(secs) && secs >= 0) return Math.round(secs * 1000);
    const at = Date.parse(header);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  if (bodySeconds != null && Number.isFinite(bodySeconds) && bodySeconds >= 0) return Math.round(bodySeconds * 1000);
  return null;
}

/** Exponential backoff with full jitter: a random wait in [0, base·2^n], at least `floorMs` (a retry-after). */
export function backoffMs(retry: number, baseMs: number, floorMs: number | null, random: () => number = Math.random): number {
  const cap = baseMs * 2 ** retry;
  return Math.max(floorMs ?? 0, Math.round(random() * cap));
}

/**
 * The policy, by error class:
 * - 429: another key of the provider at once if one is not cooling down; else back off
 *   (honouring retry-after, bounded) and retry the target up to `rateLimitRetries`
 *   times; a wait longer than the bound moves to the next target; none left: fail.
 * - 500/502/503, timeouts, connection errors, a stream that broke before its first
 *   byte: the next target at once; with none left, the same target after a short backoff.
 * - 529 / overloaded_error: the next target at once; with none left, a longer backoff.
 * - context length exceeded: the next target with a larger context window; none: fail.
 * - 400, 401, 403, 404, content filter: fail at once (trying again changes nothing).
 */
function decide(
  f: AttemptFailure,
  model: ModelEntry,
  sameTargetRetries: number,
  hasNext: (pick: (m: ModelEntry) => boolean) => boolean,
  s: FailoverSettings,
  otherKeyAvailable: boolean,
): Decision {
  const random = s.random ?? Math.random;
  const any = () => true;
  switch (f.kind) {
    case "rate_limited": {
      if (otherKeyAvailable) return { action: "same", waitMs: 0 };
      const wait = backoffMs(sameTargetRetries, s.baseBackoffMs * 2, f.retryAfterMs, random);
      if (sameTargetRetries < s.rateLimitRetries && wait <= s.maxBackoffMs) return { action: "same", waitMs: wait };
      return hasNext(any) ? { action: "next", pick: any } : { action: "fail" };
    }
    case "server_error":
    case "timeout":
    case "connection":
      if (hasNext(any)) return { action: "next", pick: any };
      // One more try of the only target left: a single 500 is often a blip.
      if (sameTargetRetries >= 1) return { action: "fail" };
      return { action: "same", waitMs: Math.min(backoffMs(sameTargetRetries, s.baseBackoffMs, f.retryAfterMs, random), s.maxBackoffMs) };
    case "overloaded":
      if (hasNext(any)) return { action: "next", pick: any };
      if (sameTargetRetries >= 2) return { action: "fail" };
      return { action: "same", waitMs: Math.min(backoffMs(sameTargetRetries + 2, s.baseBackoffMs * 2, f.retryAfterMs, random), s.maxBackoffMs) };
    case "context_length_exceeded": {
      const window = model.capabilities.contextWindow;
      // Only a target known (or not known not) to be larger can help.
      const larger = (m: ModelEntry) => window === undefined ? m.capabilities.contextWindow !== undefined : (m.capabilities.contextWindow ?? Infinity) > window;
      return hasNext(larger) ? { action: "next", pick: larger } : { action: "fail" };
    }
    default:
      return { action: "fail" };
  }
}

function otherKeyReady(model: ModelEntry, current: ProviderKeyEntry | null, health: TargetHealth | null): boolean {
  return model.provider.keys.some((k) => k.id !== current?.id && !health?.keyCoolingDown(k.id));
}

/** An undici failure (no HTTP answer) → 504 for timeouts, 502 otherwise; the message names the provider. */
export function transportError(err: unknown, provider: string): AppError {
  const code = (err as { code?: unknown }).code;
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "FIRST_BYTE_TIMEOUT") {
    return new AppError("upstream_timeout", `Provider "${provider}" did not respond in time.`, { cause: err });
  }
  // Only the error code: the message would reveal the provider's address.
  const reason = typeof code === "string" ? code : (err as Error).name;
  return new AppError("upstream_error", `Could not reach provider "${provider}" (${reason}).`, { cause: err });
}

function transportFailure(err: unknown, provider: string): AttemptFailure {
  const error = transportError(err, provider);
  const timeout = error.code === "upstream_timeout";
  return {
    error,
    status: 0,
    errorClass: timeout ? "upstream_timeout" : "upstream_connection_error",
    kind: timeout ? "timeout" : "connection",
    retryAfterMs: null,
    unhealthy: true,
  };
}

/** Kinds that say the provider is unwell (they count against its health). */
const UNHEALTHY = new Set(["rate_limited", "overloaded", "server_error", "timeout", "auth", "permission"]);

export interface FailoverRequest {
  ctx: RequestContext;
  dispatcher: Dispatcher;
  health: TargetHealth | null;
  /** The ordered try-list (routing/plan). */
  candidates: readonly ModelEntry[];
  /** The request as a given target must receive it (e.g. its max-tokens field). */
  bodyFor: (model: ModelEntry) => ChatCompletionRequest;
  /** Parameters the inbound translation left out (count as dropped for strict routes). */
  extraDroppedParams: readonly string[];
  settings: FailoverSettings;
  /** Maps a classified upstream error to the client's error (chat-core's upstreamHttpError). */
  httpError: (info: UpstreamErrorInfo, provider: string, retryAfter: string | undefined) => AppError;
  /** Time to the provider's response headers, per attempt that got an HTTP answer (metrics). */
  observeLatency?: (provider: string, seconds: number) => void;
  /** Each attempt's result: "ok" or its error class (metrics). */
  onOutcome?: (model: ModelEntry, result: string) => void;
  /** Called before each attempt's request is sent: the model it goes to (headers, strict checks). */
  onAttempt?: (model: ModelEntry, prepared: PreparedChatRequest) => void;
}

const firstHeader = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * Tries the candidates until one answers with a 2xx (and, for a stream, its first
 * byte). Throws the client's error when the policy gives up, the attempts or the
 * deadline run out, or the client goes away.
 */
export async function callWithFailover(r: FailoverRequest): Promise<ProviderCall> {
  const { ctx, settings: s } = r;
  let index = 0;
  let sameTargetRetries = 0;
  let waitMs = 0;
  let lastFailure: AttemptFailure | null = null;
  let deadlineHit = false;
  const tried = new Set<string>();
  if (r.candidates.length === 0) throw new AppError("invalid_request", "No target of this route can take the request.");

  while (ctx.attempts < s.maxAttempts) {
    const model = r.candidates[index]!;
    if (waitMs > 0) {
      if (performance.now() + waitMs > s.deadlineAt) {
        deadlineHit = true;
        break;
      }
      await sleep(waitMs);
    }
    if (ctx.clientAborted) throw new AppError("upstream_error", "The client closed the connection.");
    const remaining = s.deadlineAt - performance.now();
    if (remaining <= 0) {
      deadlineHit = true;
      break;
    }

    const adapter = getProviderAdapter(model.provider.type);
    if (!adapter) {
      throw new AppError("upstream_error", `Provider "${model.provider.slug}" has type "${model.provider.type}", which this gateway version cannot call yet.`);
    }
    const coolingDown = r.health ? (id: string) => r.health!.keyCoolingDown(id) : undefined;
    // Round robin: a retry of the same target goes out with the provider's next key.
    const key = pickProviderKey(model.provider, coolingDown);
    let prepared: PreparedChatRequest;
    try {
      prepared = adapter.prepareChatRequest(r.bodyFor(model), {
        baseUrl: model.provider.baseUrl,
        apiKey: key?.apiKey ?? null,
        upstreamModel: model.upstreamModel,
        apiVersion: model.provider.apiVersion,
      });
    } catch (err) {
      // An adapter refusing what its provider cannot do (e.g. n > 1 on Anthropic) is the client's 400.
      if (err instanceof AppError) throw err;
      throw new AppError("upstream_error", `Provider "${model.provider.slug}" is misconfigured: ${(err as Error).message}.`);
    }
    r.onAttempt?.(model, prepared);

    const record: AttemptRecord = {
      model: model.name,
      provider: model.provider.slug,
      providerKey: key?.label ?? null,
      status: 0,
      errorClass: null,
      durationMs: 0,
      waitMs,
    };
    ctx.attempts++;
    ctx.attemptLog.push(record);
    tried.add(model.name);
    const startedAt = performance.now();
    r.health?.begin(model.name);
    let failure: AttemptFailure;
    try {
      const call = await sendAttempt(r, model, adapter, prepared, remaining);
      record.status = call.upstream.statusCode;
      record.durationMs = Math.round(performance.now() - startedAt);
      r.health?.record(model.name, "ok", record.durationMs);
      r.onOutcome?.(model, "ok");
      // Earlier attempts' failures are in the attempt log; the request itself succeeded.
      ctx.errorClass = null;
      return call;
    } catch (err) {
      if (!(err instanceof AttemptError)) throw err;
      failure = err.failure;
    } finally {
      r.health?.end(model.name);
    }
    record.status = failure.status;
    record.errorClass = failure.errorClass;
    record.durationMs = Math.round(performance.now() - startedAt);
    ctx.errorClass = failure.errorClass;
    lastFailure = failure;
    if (ctx.clientAborted) throw failure.error;
    r.onOutcome?.(model, failure.errorClass);
    if (failure.unhealthy) r.health?.record(model.name, "error");
    else r.health?.record(model.name, "ok");
    if (failure.kind === "rate_limited" && key) r.health?.coolDownKey(key.id, failure.retryAfterMs ?? 1000);

    const nextIndex = (pick: (m: ModelEntry) => boolean) => {
      for (let i = index + 1; i < r.candidates.length; i++) if (pick(r.candidates[i]!)) return i;
      return -1;
    };
    const decision = decide(failure, model, sameTargetRetries, (pick) => nextIndex(pick) !== -1, s, otherKeyReady(model, key, r.health));
    if (decision.action === "fail") {
      const n = ctx.attempts;
      throw n > 1 ? withSuffix(failure.error, ` (after ${n} attempts on ${tried.size} target${tried.size === 1 ? "" : "s"})`) : failure.error;
    }
    if (decision.action === "next") {
      index = nextIndex(decision.pick);
      sameTargetRetries = 0;
      waitMs = 0;
    } else {
      sameTargetRetries++;
      waitMs = decision.waitMs;
    }
  }
  // Out of attempts or out of time: the last failure, saying how hard we tried.
  const n = ctx.attempts;
  const where = `${n} attempt${n === 1 ? "" : "s"} on ${tried.size} target${tried.size === 1 ? "" : "s"}`;
  if (!lastFailure) {
    ctx.errorClass = "deadline_exceeded";
    throw new AppError("upstream_timeout", "The request's deadline passed before any provider was tried.");
  }
  throw withSuffix(lastFailure.error, deadlineHit ? ` (the request's deadline passed after ${where})` : ` (after ${where})`);
}

/** The same error with more said at the end of its message (status, headers and provider fields kept). */
function withSuffix(err: AppError, suffix: string): AppError {
  const message = err.message.endsWith(".") ? `${err.message.slice(0, -1)}${suffix}.` : `${err.message}${suffix}`;
  Object.defineProperty(err, "message", { value: message });
  return err;
}

class AttemptError extends Error {
  constructor(readonly failure: AttemptFailure) {
    super(failure.error.message);
  }
}

/** One HTTP attempt; an AttemptError carries a classified failure. */
async function sendAttempt(r: FailoverRequest, model: ModelEntry, adapter: ProviderAdapter, prepared: PreparedChatRequest, remainingMs: number): Promise<ProviderCall> {
  const { ctx, settings: s } = r;
  const provider = model.provider.slug;
  const controller = new UpstreamAbort();
  ctx.abortUpstream = () => controller.abort();
  const sentAt = performance.now();
  // undici checks its timeouts on a coarse timer (~0.5 s); the deadline is held to the millisecond here.
  let deadlinePassed = false;
  const deadlineTimer = setTimeout(() => {
    deadlinePassed = true;
    controller.abort();
  }, Math.max(1, Math.ceil(remainingMs)));
  let upstream: UpstreamReply;
  try {
    upstream = await requestUpstream(r.dispatcher, prepared.http, controller, Math.max(1, Math.min(s.headersTimeoutMs, Math.ceil(remainingMs))), s.bodyTimeoutMs);
  } catch (err) {
    clearTimeout(deadlineTimer);
    throw new AttemptError(transportFailure(deadlinePassed ? Object.assign(new Error("deadline"), { code: "UND_ERR_HEADERS_TIMEOUT" }) : err, provider));
  }
  clearTimeout(deadlineTimer);
  r.observeLatency?.(provider, (performance.now() - sentAt) / 1000);
  if (upstream.statusCode >= 400) {
    const text = await upstream.body.text().catch(() => "");
    const info = adapter.classifyError(upstream.statusCode, text);
    const retryAfterHeader = firstHeader(upstream.headers["retry-after"]);
    throw new AttemptError({
      error: r.httpError(info, provider, retryAfterHeader),
      status: upstream.statusCode,
      errorClass: info.errorClass,
      kind: info.kind,
      retryAfterMs: retryAfterMs(retryAfterHeader, info.retryAfterSeconds),
      unhealthy: UNHEALTHY.has(info.kind),
    });
  }
  if (!prepared.stream) return { adapter, model, prepared, upstream, firstChunk: null };

  // A stream is committed to the client only once its first byte is here: until then a
  // failure (reset, cut, silence) can still go to the next target unseen. The timer
  // destroys the body, which fails the pending read with its error.
  const limit = Math.max(1, Math.min(s.firstByteTimeoutMs, Math.ceil(s.deadlineAt - performance.now())));
  const body = upstream.body;
  const timer = setTimeout(() => body.destroy(Object.assign(new Error("first byte timeout"), { code: "FIRST_BYTE_TIMEOUT" })), limit);
  try {
    const first = await body.next();
    if (first.done) throw Object.assign(new Error("stream ended before its first byte"), { code: "UND_ERR_SOCKET" });
    return { adapter, model, prepared, upstream, firstChunk: first.value };
  } catch (err) {
    body.destroy();
    throw new AttemptError(transportFailure(err, provider));
  } finally {
    clearTimeout(timer);
  }
}
