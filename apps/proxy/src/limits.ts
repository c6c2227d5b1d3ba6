/**
 * Rate limits (RPM/TPM per key and per team) and budgets (per key, team and org) on the
 * request path. One step after the model is known and before the provider is called
 * (`admit`), one after the response is finished (`settle`). The counters and their
 * atomic scripts live in @switchyard/limits; this file decides which scopes and budgets
 * apply, what to reserve, what the client is told, and what happens when Redis fails.
 */
import type { ServerResponse } from "node:http";
import { AppError, type ModelPricing } from "@switchyard/contracts";
import {
  admitLimits,
  MAX_NANO_USD,
  periodEnd,
  periodStart,
  settleLimits,
  type AdmitLimitsResult,
  type BudgetPeriod,
  type BudgetRef,
  type BudgetTarget,
  type LeaseDemand,
  type LeaseTicket,
  LimitLeases,
  type LimitsRedis,
  type RateLimitResult,
  type RateLimitScope,
} from "@switchyard/limits";
import { computeCostNanoUsd } from "@switchyard/pricing";
import { billedUsage, type RequestContext } from "./context";
import type { Logger } from "./logger";
import type { ProxyMetrics } from "./metrics";
import type { BudgetEntry, ModelEntry, Snapshot } from "./snapshot";

/** Output tokens reserved for when neither the request nor the model's capabilities bound them. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

/** What one admitted request holds until its response is finished (RequestContext.limits). */
export interface RequestLimits {
  /** Scopes whose TPM window counted the estimate; corrected to the actual tokens afterwards. */
  tpmScopes: RateLimitScope[];
  estimatedTokens: number;
  /** Date.now() when the estimate was counted. */
  countedAtMs: number;
  reservation: { reservationId: string; budgets: BudgetTarget[] } | null;
  /** Admitted against a lease instead (then `reservation` is null: the lease holds the money). */
  lease: LeaseTicket | null;
  settled: boolean;
}

/** What a request may consume, as far as the gateway can tell before sending it. */
export interface LimitDemand {
  /**
   * Input tokens to expect; called only when a TPM limit or a priced budget needs the
   * number. A plain number when it can be had at once (the tokenizer is loaded).
   */
  estimateInputTokens(): number | Promise<number>;
  /** Most output tokens the request may produce (0 for embeddings). */
  maxOutputTokens: number;
}

/**
 * Worst-case output of a chat request: its own max_completion_tokens / max_tokens, else
 * the model's configured maxOutputTokens, else DEFAULT_MAX_OUTPUT_TOKENS; times `n`.
 */
export function maxOutputTokensFor(
  body: { max_tokens?: number | null; max_completion_tokens?: number | null; n?: number | null },
  model: ModelEntry,
): number {
  const configured = model.capabilities.maxOutputTokens;
  const perChoice =
    body.max_completion_tokens ??
    body.max_tokens ??
    (typeof configured === "number" && Number.isSafeInteger(configured) && configured > 0 ? configured : DEFAULT_MAX_OUTPUT_TOKENS);
  return perChoice * (body.n ?? 1);
}

/**
 * The most a request can cost: every input token at the dearest input rate (plain or
 * cache write) and every output token at the dearest output rate (plain or reasoning).
 */
export function worstCaseCostNanoUsd(pricing: ModelPricing, inputTokens: number, outputTokens: number): bigint {
  const writes = pricing.cacheWritePerMTok !== undefined ? [0, inputTokens] : [0];
  const reasoning = pricing.reasoningPerMTok !== undefined ? [0, outputTokens] : [0];
  let max = 0n;
  for (const cacheWriteTokens of writes) {
    for (const reasoningTokens of reasoning) {
      const c = computeCostNanoUsd({ inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens, reasoningTokens }, pricing);
      if (c > max) max = c;
    }
  }
  return max > MAX_NANO_USD ? MAX_NANO_USD : max;
}

/** OpenAI's reset format (Go durations): "0s", "42s", "1m1s", "1h0m0s". */
export function formatResetDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}

/** "$10.00", "$0.0002202": at least cents, at most nano-dollars, no trailing zeros beyond cents. */
export function formatUsd(nano: bigint): string {
  const whole = nano / 1_000_000_000n;
  let frac = (nano % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  if (frac.length < 2) frac = frac.padEnd(2, "0");
  return `$${whole}.${frac}`;
}

// Period bounds change once a day at most; computing them with Intl on every request is waste.
// Looked up by zone then period (no key string per budget per request) and compared as
// numbers (comparing Dates converts both through ToPrimitive on every request).
interface PeriodBounds {
  start: Date;
  end: Date;
  startMs: number;
  endMs: number;
}
const periodCache = new Map<string, Partial<Record<BudgetPeriod, PeriodBounds>>>();
export function periodBounds(period: BudgetPeriod, timeZone: string, now: Date): { start: Date; end: Date } {
  let byPeriod = periodCache.get(timeZone);
  if (!byPeriod) {
    byPeriod = {};
    periodCache.set(timeZone, byPeriod);
  }
  const t = now.getTime();
  const c = byPeriod[period];
  if (c && t >= c.startMs && t < c.endMs) return c;
  const start = periodStart(period, timeZone, now);
  const end = periodEnd(period, timeZone, now);
  const b: PeriodBounds = { start, end, startMs: start.getTime(), endMs: end.getTime() };
  byPeriod[period] = b;
  return b;
}

const PERIOD_ADJECTIVE: Record<BudgetPeriod, string> = { day: "daily", week: "weekly", month: "monthly" };
const NO_BUDGETS: readonly BudgetEntry[] = [];

export interface LimitsOptions {
  /** A connection of its own with a short command timeout and no offline queue (fails fast). */
  redis: LimitsRedis;
  prefix: string;
  failMode: "open" | "closed";
  /** Admit a busy key's requests against leased headroom (LimitLeases); default false. */
  leases?: boolean;
  metrics: ProxyMetrics;
  logger: Logger;
}

export class Limits {
  private lastWarnAt = 0;
  /** Settles sent and not yet answered, and who waits for there to be none (drain). */
  private inFlight = 0;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly settled = () => {
    if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  };

  private readonly leases: LimitLeases | null;

  constructor(private readonly opts: LimitsOptions) {
    this.leases = opts.leases ? new LimitLeases(opts.redis, { prefix: opts.prefix, track: (op, p) => this.background(op, p) }) : null;
  }

  /**
   * Checks and counts the request against every rate limit and budget that applies to
   * its key: sets the x-ratelimit-* headers, throws a 429 (or, fail-closed with Redis
   * down, a 503), otherwise leaves `ctx.limits` for settle(). Without any limit or
   * budget it does nothing at all (no Redis call).
   */
  async admit(res: ServerResponse, ctx: RequestContext, snapshot: Snapshot, model: ModelEntry, demand: LimitDemand): Promise<void> {
    const key = ctx.key;
    if (!key) return;
    const team = snapshot.teams.get(key.teamId);
    const scopes: RateLimitScope[] = [];
    if (key.rpmLimit !== null || key.tpmLimit !== null) scopes.push({ scope: "key", id: key.id, rpm: key.rpmLimit, tpm: key.tpmLimit });
    if (team && (team.rpmLimit !== null || team.tpmLimit !== null)) scopes.push({ scope: "team", id: team.id, rpm: team.rpmLimit, tpm: team.tpmLimit });
    const budgets = [
      ...(snapshot.budgetsByKey.get(key.id) ?? NO_BUDGETS),
      ...(snapshot.budgetsByTeam.get(key.teamId) ?? NO_BUDGETS),
      ...(snapshot.budgetsByOrg.get(key.orgId) ?? NO_BUDGETS),
    ];
    if (scopes.length === 0 && budgets.length === 0) return;

    const tpmScopes = scopes.filter((s) => s.tpm !== null && s.tpm !== undefined);
    // The request's price (the org's override included), set by pickModel.
    const pricing = ctx.pricing === undefined ? model.pricing : ctx.pricing;
    const needTokens = tpmScopes.length > 0 || (budgets.length > 0 && pricing !== null);
    let estimatedTokens = needTokens ? this.estimate(demand) : 0;
    if (typeof estimatedTokens !== "number") estimatedTokens = await estimatedTokens;
    const now = new Date();
    const refs: BudgetRef[] = budgets.map((b) => ({
      id: b.id,
      periodStart: periodBounds(b.period, b.timeZone, now).start,
      limitNanoUsd: b.limitNanoUsd,
      hard: b.hard,
    }));
    // An unpriced model cannot be costed: it reserves (and later settles) 0, so it is
    // refused only once a hard budget is already used up.
    const amount = refs.length > 0 && pricing ? worstCaseCostNanoUsd(pricing, estimatedTokens, demand.maxOutputTokens) : 0n;

    const tokensCounted = estimatedTokens > 0 && tpmScopes.length > 0;
    const leases = this.leases;
    if (leases) {
      // A lease's slice first: no Redis round trip while the key's lease has room.
      const need: LeaseDemand = { scopes, budgets: refs, estimatedTokens, amountNanoUsd: amount, nowMs: now.getTime() };
      let ticket = leases.take(key.id, snapshot, need);
      if (!ticket) {
        const size = leases.size(key.id, snapshot, need);
        if (size > 1) {
          try {
            ticket = await leases.acquire(key.id, snapshot, need, size);
          } catch (err) {
            this.unavailable("admit", err);
            return;
          }
        }
      }
      if (ticket) {
        this.opts.metrics.countAdmission("lease");
        if (scopes.length > 0) setRateLimitHeaders(res, scopes, ticket.rate);
        ctx.limits = { tpmScopes: tokensCounted ? tpmScopes : [], estimatedTokens, countedAtMs: now.getTime(), reservation: null, lease: ticket, settled: false };
        return;
      }
    }

    const { redis, prefix } = this.opts;
    // One script call: the rate limits, then (only if they admit) the budget reservation.
    // A rate-limit refusal reserves nothing; a budget refusal keeps the RPM count and
    // gives the estimated tokens back, inside the same script.
    let admitted: AdmitLimitsResult;
    try {
      admitted = await admitLimits(
        redis,
        { scopes, estimatedTokens, budgets: refs, amountNanoUsd: amount, reservationId: ctx.requestId, nowMs: now.getTime() },
        { prefix },
      );
    } catch (err) {
      this.unavailable("admit", err);
      return;
    }
    this.opts.metrics.countAdmission("redis");
    if (leases) leases.learn(key.id, snapshot, admitted);
    const rateResult = admitted.rate;
    const reservation = admitted.reservation;

    if (scopes.length > 0) setRateLimitHeaders(res, scopes, rateResult);
    if (!rateResult.allowed) {
      this.opts.metrics.countLimited("rate_limit");
      throw rateLimitError(scopes, rateResult, { key: key.name, team: team?.slug ?? key.teamId }, estimatedTokens);
    }
    if (reservation && !reservation.ok) {
      this.opts.metrics.countLimited("budget");
      const entry = budgets[refs.indexOf(reservation.deniedBy)];
      if (!entry) throw new Error("the admit script named a budget that was not asked for");
      throw budgetError(entry, reservation.spentNanoUsd, reservation.reservedNanoUsd, amount, now);
    }
    const reserved = reservation?.ok ? { reservationId: reservation.reservationId, budgets: reservation.budgets } : null;
    ctx.limits = { tpmScopes: tokensCounted ? tpmScopes : [], estimatedTokens, countedAtMs: now.getTime(), reservation: reserved, lease: null, settled: false };
  }

  /** Redis could not answer an admit: fail closed (503) or open (served, nothing held to settle). */
  private unavailable(op: "admit", err: unknown): void {
    this.failure(op, err);
    if (this.opts.failMode === "closed") {
      throw new AppError("limits_unavailable", "Rate limits and budgets cannot be checked right now (the gateway's Redis is unreachable); try again shortly.", {
        headers: { "retry-after": "1" },
      });
    }
  }

  /**
   * After the response (streams and client aborts included): the reservation becomes
   * the recorded cost (`cost`, null = unpriced → 0) and the TPM estimate becomes the
   * actual tokens. Once per request; never awaited by the response; failures are
   * logged and counted.
   */
  settle(ctx: RequestContext, cost: bigint | null): void {
    const l = ctx.limits;
    if (!l || l.settled) return;
    l.settled = true;
    const priced = l.lease ? l.lease.lease.reservation !== null : l.reservation !== null;
    const actual = priced ? (cost === null || cost < 0n ? 0n : cost > MAX_NANO_USD ? MAX_NANO_USD : cost) : 0n;
    let tokenDelta = 0;
    if (l.tpmScopes.length > 0) {
      // Every answer the provider billed (a retried empty answer included).
      const usage = billedUsage(ctx);
      const tokens = usage ? usage.inputTokens + usage.outputTokens : 0;
      // After 60 s the estimate has left the window already: count the actual tokens, don't subtract it again.
      const stillCounted = Date.now() - l.countedAtMs < 59_000 ? l.estimatedTokens : 0;
      tokenDelta = tokens - stillCounted;
    }
    if (l.lease) {
      this.leases!.finish(l.lease, actual, tokenDelta);
      return;
    }
    if (!l.reservation && tokenDelta === 0) return;
    // One script call: the reservation becomes the cost, the TPM estimate the actual tokens.
    this.background(
      "settle",
      settleLimits(this.opts.redis, { reservation: l.reservation, actualNanoUsd: actual, tpmScopes: l.tpmScopes, tokenDelta }, { prefix: this.opts.prefix }),
    );
  }

  /**
   * A tokenizer failure must not fail the request: count 0 up front; settle corrects to the
   * actual tokens. Synchronous when the estimate is (no await, no promise on the request path).
   */
  private estimate(demand: LimitDemand): number | Promise<number> {
    try {
      const tokens = demand.estimateInputTokens();
      return typeof tokens === "number" ? tokens : tokens.catch(this.estimateFailed);
    } catch (err) {
      return this.estimateFailed(err);
    }
  }

  /** Made once, not per request: the estimate's failure is logged and counts 0. */
  private readonly estimateFailed = (err: unknown): number => {
    this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "cannot estimate input tokens; counting 0 until the call reports usage");
    return 0;
  };

  /** Waits (bounded) for settles still on their way to Redis; for shutdown. */
  async drain(timeoutMs = 2000): Promise<void> {
    // What the leases hold and did not use goes back; those with nothing running settle.
    this.leases?.retireAll();
    if (this.inFlight === 0) return;
    await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  private background(op: "settle", p: Promise<unknown>): void {
    // A count and one reaction, not a Set of catch().finally() chains: one per request.
    this.inFlight++;
    p.then(this.settled, (err: unknown) => {
      this.failure(op, err);
      this.settled();
    });
  }

  private failure(op: "admit" | "settle", err: unknown): void {
    this.opts.metrics.countLimitsError(op);
    // Redis down means thousands of these a second: one line every 30 s is enough. Never the key or the prompt.
    const now = Date.now();
    if (now - this.lastWarnAt < 30_000) return;
    this.lastWarnAt = now;
    this.opts.logger.warn(
      { op, err: err instanceof Error ? err.message : String(err), failMode: this.opts.failMode },
      this.opts.failMode === "open" ? "limits unavailable: serving requests without rate-limit/budget checks" : "limits unavailable: refusing requests (fail-closed)",
    );
  }
}

/** OpenAI's x-ratelimit-* headers from the tightest scope (smallest limit, smallest remaining). */
function setRateLimitHeaders(res: ServerResponse, scopes: readonly RateLimitScope[], r: RateLimitResult): void {
  const denied = r.allowed ? undefined : scopes.find((s) => s.scope === r.deniedBy?.scope && s.id === r.deniedBy.id);
  const limitOf = (dim: "rpm" | "tpm"): number | null => {
    if (denied && r.deniedBy?.limit === dim) return denied[dim] ?? null;
    let min: number | null = null;
    for (const s of scopes) {
      const v = s[dim];
      if (v !== null && v !== undefined && (min === null || v < min)) min = v;
    }
    return min;
  };
  const requests = limitOf("rpm");
  if (requests !== null && r.remainingRequests !== null) {
    res.setHeader("x-ratelimit-limit-requests", String(requests));
    res.setHeader("x-ratelimit-remaining-requests", String(r.remainingRequests));
    res.setHeader("x-ratelimit-reset-requests", formatResetDuration(r.resetRequestsSeconds ?? 0));
  }
  const tokens = limitOf("tpm");
  if (tokens !== null && r.remainingTokens !== null) {
    res.setHeader("x-ratelimit-limit-tokens", String(tokens));
    res.setHeader("x-ratelimit-remaining-tokens", String(r.remainingTokens));
    res.setHeader("x-ratelimit-reset-tokens", formatResetDuration(r.resetTokensSeconds ?? 0));
  }
}

function rateLimitError(scopes: readonly RateLimitScope[], r: RateLimitResult, names: { key: string; team: string }, estimatedTokens: number): AppError {
  const by = r.deniedBy;
  const scope = scopes.find((s) => s.scope === by?.scope && s.id === by.id);
  const who = by?.scope === "team" ? `team '${names.team}'` : `key '${names.key}'`;
  const retry = Math.max(1, r.retryAfterSeconds);
  let what: string;
  if (by?.limit === "tpm") {
    const limit = scope?.tpm ?? 0;
    what =
      estimatedTokens > limit
        ? `${limit} tokens per minute (tpm), and this request alone is estimated at ${estimatedTokens} input tokens, so it can never pass; send a smaller request`
        : `${limit} tokens per minute (tpm); this request is estimated at ${estimatedTokens} input tokens`;
  } else {
    what = `${scope?.rpm ?? 0} requests per minute (rpm)`;
  }
  return new AppError("rate_limit_exceeded", `Rate limit reached for ${who}: ${what}. Try again in ${retry} s.`, {
    headers: { "retry-after": String(retry) },
  });
}

function budgetError(entry: BudgetEntry, spent: bigint, reserved: bigint, amount: bigint, now: Date): AppError {
  const end = periodBounds(entry.period, entry.timeZone, now).end;
  const retry = Math.max(1, Math.ceil((end.getTime() - now.getTime()) / 1000));
  const held = reserved > 0n ? ` (plus ${formatUsd(reserved)} held by requests in progress)` : "";
  const cost = amount > 0n ? `, and this request could cost up to ${formatUsd(amount)}` : "";
  return new AppError(
    "budget_exceeded",
    `Budget exceeded: ${entry.scope} '${entry.scopeName}' has a hard ${PERIOD_ADJECTIVE[entry.period]} budget of ${formatUsd(entry.limitNanoUsd)}; ` +
      `${formatUsd(spent)} is spent this ${entry.period}${held}${cost}. ` +
      `It resets at ${end.toISOString()} (start of the next ${entry.period} in ${entry.timeZone}).`,
    { headers: { "retry-after": String(retry) } },
  );
}
