/**
 * One script call per request at each end: `admitLimits` checks and counts the rate
 * limits and reserves the budgets together; `settleLimits` settles the reservation and
 * corrects the TPM estimate together. The bodies are the single-purpose scripts of
 * rate-limit.ts and budget.ts, run as Lua functions inside one script, so their
 * behaviour (and their tests) carry over and the two halves are atomic together.
 * The calls of one event-loop turn (all requests admitted, or settled, in that turn) go
 * to Redis as one script call (BatchedScript), each still atomic on its own.
 */
import { type BudgetRef, type BudgetTarget, parseReserveReply, RESERVE_LUA, reserveCall, type ReserveResult, SETTLE_LUA, settleCall } from "./budget";
import type { KeyOptions } from "./keys";
import { consumeCall, CONSUME_LUA, CORRECT_LUA, correctCall, parseConsumeReply, type RateLimitResult, type RateLimitScope, UNLIMITED } from "./rate-limit";
import { BatchedScript, type LimitsRedis } from "./script";

/**
 * KEYS: the rate-limit keys (4 per scope), then the budget keys (5 per budget).
 * ARGV: #rate keys, #rate args, #budget keys, the rate args, then the budget args.
 * Reply: {rateReply, budgetReply}; budgetReply is {2} when the rate limit refused and no
 * reservation was tried. A request refused by a budget keeps its RPM count (it was a
 * request) but its estimated tokens leave the TPM windows again (none were used).
 */
const ADMIT = new BatchedScript(
  `
local function consume(KEYS, ARGV)
${CONSUME_LUA}
end
local function reserve(KEYS, ARGV)
${RESERVE_LUA}
end`,
  `
local nrk, nra, nbk = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rk, ra, bk, ba = {}, {}, {}, {}
for i = 1, nrk do rk[i] = KEYS[i] end
for i = 1, nbk do bk[i] = KEYS[nrk + i] end
for i = 1, nra do ra[i] = ARGV[3 + i] end
for i = 4 + nra, #ARGV do ba[#ba + 1] = ARGV[i] end
local rate = {1, 0, 0, 0, -1, -1, -1, -1}
if nrk > 0 then rate = consume(rk, ra) end
if rate[1] ~= 1 then return {rate, {2}} end
local budget = {1}
if nbk > 0 then
  budget = reserve(bk, ba)
  local tokens = tonumber(ra[2] or '0')
  if budget[1] == 0 and tokens ~= 0 then
    local sec = math.floor(tonumber(ra[1]) / 1000)
    for i = 1, nrk / 4 do
      if tonumber(ra[2 + (i - 1) * 2 + 2]) >= 0 then
        redis.call('HINCRBY', rk[(i - 1) * 4 + 3], sec, -tokens)
        redis.call('HINCRBY', rk[(i - 1) * 4 + 3], 't', -tokens)
      end
    end
  end
end
return {rate, budget}
`,
);

/**
 * KEYS: the settle keys (5 per budget), then the TPM keys to correct.
 * ARGV: #settle keys, #settle args, the settle args, then the correct args.
 * Reply: the settle reply ({1} settled, {0} settled already or never reserved; {1} with no reservation).
 */
const SETTLE_AND_CORRECT = new BatchedScript(
  `
local function settle(KEYS, ARGV)
${SETTLE_LUA}
end
local function correct(KEYS, ARGV)
${CORRECT_LUA}
end`,
  `
local nsk, nsa = tonumber(ARGV[1]), tonumber(ARGV[2])
local sk, sa, ck, ca = {}, {}, {}, {}
for i = 1, nsk do sk[i] = KEYS[i] end
for i = nsk + 1, #KEYS do ck[#ck + 1] = KEYS[i] end
for i = 1, nsa do sa[i] = ARGV[2 + i] end
for i = 3 + nsa, #ARGV do ca[#ca + 1] = ARGV[i] end
local s = {1}
if nsk > 0 then s = settle(sk, sa) end
if #ck > 0 then correct(ck, ca) end
return s
`,
  128,
  // Nobody waits for a settle: gather 5 ms of them, so that streams at low concurrency batch too.
  5,
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
  const rate = consumeCall(input.scopes, { ...options, estimatedTokens: input.estimatedTokens, ...(input.nowMs !== undefined ? { nowMs: input.nowMs } : {}) });
  const reserve = reserveCall(input.budgets, input.amountNanoUsd, {
    ...options,
    reservationId: input.reservationId,
    ...(input.reservationTtlMs !== undefined ? { ttlMs: input.reservationTtlMs } : {}),
  });
  if (input.scopes.length === 0 && input.budgets.length === 0) return { rate: { ...UNLIMITED }, reservation: null };
  const rateKeys = input.scopes.length > 0 ? rate.keys : [];
  const rateArgs = input.scopes.length > 0 ? rate.args : [];
  const budgetKeys = input.budgets.length > 0 ? reserve.keys : [];
  const budgetArgs = input.budgets.length > 0 ? reserve.args : [];
  const reply = (await ADMIT.run(redis, [...rateKeys, ...budgetKeys], [rateKeys.length, rateArgs.length, budgetKeys.length, ...rateArgs, ...budgetArgs])) as unknown as [
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
  const correct = correctCall(input.tpmScopes, input.tokenDelta, { ...options, ...(input.nowMs !== undefined ? { nowMs: input.nowMs } : {}) });
  if (!settle && !correct) return true;
  const keys = [...(settle?.keys ?? []), ...(correct?.keys ?? [])];
  const args = [settle?.keys.length ?? 0, settle?.args.length ?? 0, ...(settle?.args ?? []), ...(correct?.args ?? [])];
  const reply = await SETTLE_AND_CORRECT.run(redis, keys, args);
  return Number(reply[0]) === 1;
}
