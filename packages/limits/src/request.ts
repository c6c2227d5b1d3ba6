/**
 * One script call per request at each end: `admitLimits` checks and counts the rate
 * limits and reserves the budgets together; `settleLimits` settles the reservation and
 * corrects the TPM estimate together. The bodies call the Lua functions of the
 * single-purpose scripts of rate-limit.ts and budget.ts inside one script, so their
 * behaviour (and their tests) carry over and the two halves are atomic together.
 * The calls of one event-loop turn (all requests admitted, or settled, in that turn) go
 * to Redis as one script call (BatchedScript), each still atomic on its own.
 */
import { BUDGET_LUA, type BudgetRef, type BudgetTarget, parseReserveReply, reserveCall, type ReserveResult, settleCall, trimCall } from "./budget";
import { type KeyOptions, rateLimitKeys } from "./keys";
import { consumeCall, correctCall, parseConsumeReply, RATE_LIMIT_LUA, type RateLimitResult, type RateLimitScope, UNLIMITED } from "./rate-limit";
import { BatchedScript, type LimitsRedis } from "./script";

/**
 * Trim (kind 0) — a lease's partial settle: KEYS the budgets' keys (5 per budget), ARGV as
 * BUDGET_LUA's trim. First in a batch: a lease trimmed and then settled in the same turn
 * (its last request over at once) must find its reservation still there.
 *
 * Settle (kind 1) — KEYS: the settle keys (5 per budget), then the TPM keys to correct.
 * ARGV: #settle keys, #settle args, the settle args, then the correct args.
 * Reply: the settle reply ({1} settled, {0} settled already or never reserved; {1} with no reservation).
 * Nobody waits for a settle, but it must not be held back either: the client may send its
 * next request, to any replica, the moment it has its answer, and a reservation still held
 * then would refuse it early. So settles batch per turn like admits, not over a window.
 *
 * Admit (kind 2) — KEYS: the rate-limit keys (4 per scope), then the budget keys (5 per budget).
 * ARGV: #rate keys, #rate args, #budget keys, #requests, the rate args, then the budget args.
 * Reply: {rateReply, budgetReply}; budgetReply is {2} when the rate limit refused and no
 * reservation was tried. A request refused by a budget keeps its RPM count (it was a
 * request) but its estimated tokens leave the TPM windows again (none were used). A lease
 * (#requests > 1) refused by a budget takes its requests back out too: a lease refused is
 * no request (the request that asked for it is then admitted, or refused, on its own).
 *
 * All go in the same batch in that order: the settles this replica has made reach Redis
 * before its later admits, in one script call per turn.
 */
const TRIM = 0;
const SETTLE = 1;
const ADMIT = 2;
const LIMITS = new BatchedScript(
  `${RATE_LIMIT_LUA}
${BUDGET_LUA}`,
  [
    `
return trim(KEYS, ARGV, 0, 0, #KEYS / 5)
`,
    `
local nsk, nsa = ARGV[1] + 0, ARGV[2] + 0
local s = {1}
if nsk > 0 then s = settle(KEYS, ARGV, 0, 2, nsk / 5) end
if #KEYS > nsk then correct(KEYS, ARGV, nsk, 2 + nsa, #KEYS - nsk) end
return s
`,
    `
local nrk, nra, nbk, reqs = ARGV[1] + 0, ARGV[2] + 0, ARGV[3] + 0, ARGV[4]
local rate = {1, 0, 0, 0, -1, -1, -1, -1}
if nrk > 0 then rate = consume(KEYS, ARGV, 0, 4, nrk / 4, reqs) end
if rate[1] ~= 1 then return {rate, {2}} end
local budget = {1}
if nbk > 0 then
  budget = reserve(KEYS, ARGV, nrk, 4 + nra, nbk / 5)
  if budget[1] == 0 and nrk > 0 then
    uncountTokens(KEYS, ARGV, 0, 4, nrk / 4)
    if reqs ~= '1' then uncountRequests(KEYS, ARGV, 0, 4, nrk / 4, reqs) end
  end
end
return {rate, budget}
`,
  ],
  128,
);

export interface AdmitLimitsInput {
  /** Rate-limit scopes (may be empty). */
  scopes: readonly RateLimitScope[];
  /** Input-token estimate counted against TPM and priced into the reservation. */
  estimatedTokens: number;
  /** Budgets that apply (may be empty) and the amount to reserve against them. */
  budgets: readonly BudgetRef[];
  amountNanoUsd: bigint;
  reservationId: string;
  reservationTtlMs?: number;
  nowMs?: number;
  /**
   * Requests to count at once (default 1): a lease. `estimatedTokens` and `amountNanoUsd`
   * are then the lease's totals. Refused by a budget, a lease counts nothing at all.
   */
  requests?: number;
}

export interface AdmitLimitsResult {
  rate: RateLimitResult;
  /** null when the rate limit refused (no reservation was tried) or there is no budget. */
  reservation: ReserveResult | null;
}

/**
 * Rate limits first (all-or-nothing over the scopes, as consumeRateLimit), then, only if
 * they admit the request, the budget reservation (as reserveBudget): one round trip, one
 * atomic script. Nothing at all when there are neither scopes nor budgets.
 */
export async function admitLimits(redis: LimitsRedis, input: AdmitLimitsInput, options: KeyOptions = {}): Promise<AdmitLimitsResult> {
  // Options as literals of one shape, not spreads: on Node 20's V8 an object spread and then
  // extended gets a new hidden class every time, and every read of it misses its inline cache.
  const rate = consumeCall(input.scopes, { prefix: options.prefix, estimatedTokens: input.estimatedTokens, nowMs: input.nowMs });
  const reserve = reserveCall(input.budgets, input.amountNanoUsd, { prefix: options.prefix, reservationId: input.reservationId, ttlMs: input.reservationTtlMs });
  if (input.scopes.length === 0 && input.budgets.length === 0) return { rate: { ...UNLIMITED }, reservation: null };
  const rateKeys = input.scopes.length > 0 ? rate.keys : [];
  const rateArgs = input.scopes.length > 0 ? rate.args : [];
  const budgetKeys = input.budgets.length > 0 ? reserve.keys : [];
  const budgetArgs = input.budgets.length > 0 ? reserve.args : [];
  // concat, not spreads: spreads go through the iterator protocol (admitLimits was ~1.5 % of the proxy's CPU).
  const keys = rateKeys.concat(budgetKeys);
  const requests = input.requests ?? 1;
  if (!Number.isSafeInteger(requests) || requests < 1) throw new RangeError(`requests must be a positive integer, got ${requests}`);
  const args = ([rateKeys.length, rateArgs.length, budgetKeys.length, requests] as (string | number)[]).concat(rateArgs, budgetArgs);
  const reply = (await LIMITS.run(redis, keys, args, ADMIT)) as unknown as [
    unknown[],
    unknown[],
  ];
  const rateResult = input.scopes.length > 0 ? parseConsumeReply(reply[0], input.scopes) : { ...UNLIMITED };
  const budgetReply = reply[1];
  const reservation =
    Number(budgetReply[0]) === 2 || input.budgets.length === 0 ? null : parseReserveReply(budgetReply, input.budgets, reserve.reservationId, reserve.targets);
  return { rate: rateResult, reservation };
}

export interface SettleLimitsInput {
  /** The reservation admitLimits made, with the actual cost; null when there is none. */
  reservation: { reservationId: string; budgets: readonly BudgetTarget[] } | null;
  actualNanoUsd: bigint;
  /** TPM scopes whose estimate to correct by `tokenDelta` (actual − still-counted estimate). */
  tpmScopes: readonly Pick<RateLimitScope, "scope" | "id" | "tpm">[];
  tokenDelta: number;
  nowMs?: number;
}

/**
 * The reservation becomes the actual cost (as settleBudget: idempotent per reservation)
 * and the TPM estimate becomes the actual tokens (as correctTokens), in one script call.
 * Returns false when the reservation was settled already or never made (the correction still applies).
 */
export async function settleLimits(redis: LimitsRedis, input: SettleLimitsInput, options: KeyOptions = {}): Promise<boolean> {
  const settle = input.reservation ? settleCall(input.reservation, input.actualNanoUsd, options) : null;
  const correct = correctCall(input.tpmScopes, input.tokenDelta, { prefix: options.prefix, nowMs: input.nowMs });
  if (!settle && !correct) return true;
  const keys = settle ? (correct ? settle.keys.concat(correct.keys) : settle.keys) : correct!.keys;
  const args = ([settle?.keys.length ?? 0, settle?.args.length ?? 0] as (string | number)[]).concat(settle?.args ?? [], correct?.args ?? []);
  const reply = await LIMITS.run(redis, keys, args, SETTLE);
  return Number(reply[0]) === 1;
}

/**
 * Adds `delta` (may be negative) to second `second` of each scope's RPM (`dimension`
 * "rpm") or TPM window: what a lease hands back that it counted and did not use, or a
 * TPM correction. Batched with the other limits calls of its turn.
 */
export async function adjustWindows(
  redis: LimitsRedis,
  scopes: readonly Pick<RateLimitScope, "scope" | "id">[],
  dimension: "rpm" | "tpm",
  delta: number,
  second: number,
  options: KeyOptions = {},
): Promise<void> {
  if (!Number.isSafeInteger(delta)) throw new RangeError(`delta must be an integer, got ${delta}`);
  if (delta === 0 || scopes.length === 0) return;
  const minute = second - (second % 60);
  const keys = scopes.map((s) => rateLimitKeys(s.scope, s.id, minute, options)[dimension === "rpm" ? 0 : 2]!);
  await LIMITS.run(redis, keys, [0, 0, second, delta], SETTLE);
}

/**
 * Part of a reservation becomes spend: `releaseNanoUsd` of it is given back (no more than
 * it holds) and `spendNanoUsd` is added to spent, in every budget it was made against; the
 * rest stays reserved until settleLimits. Returns false when the reservation was settled
 * already (nothing changed).
 */
export async function trimReservation(
  redis: LimitsRedis,
  reservation: { reservationId: string; budgets: readonly BudgetTarget[] },
  releaseNanoUsd: bigint,
  spendNanoUsd: bigint,
  options: KeyOptions = {},
): Promise<boolean> {
  const call = trimCall(reservation, releaseNanoUsd, spendNanoUsd, options);
  if (!call) return true;
  const reply = await LIMITS.run(redis, call.keys, call.args, TRIM);
  return Number(reply[0]) === 1;
}
