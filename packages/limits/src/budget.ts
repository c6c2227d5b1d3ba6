import { randomUUID } from "node:crypto";
import {
  budgetReservationAmountsKey,
  budgetReservationExpiryKey,
  budgetReservedKey,
  budgetSpentKey,
  type KeyOptions,
  budgetExpiredReservationsKey,
} from "./keys";
import { type LimitsRedis, LuaScript } from "./script";

/**
 * Largest amount (nano-USD) accepted for a limit, reservation or cost: 2^53 − 1
 * (≈ $9,007,199). Redis stores the counters as exact 64-bit integers (INCRBY with
 * the decimal string), but the scripts compare in Lua doubles, which are exact
 * only up to 2^53; any sum beyond that is already above every valid limit, so the
 * comparisons stay correct.
 */
export const MAX_NANO_USD = 2n ** 53n - 1n;

/** One budget period that applies to a request; the caller computes `periodStart` (see periodStart()). */
export interface BudgetRef {
  id: string;
  periodStart: Date;
  limitNanoUsd: bigint;
  /** Hard budgets block; soft ones only count (alerts are the worker's job). */
  hard: boolean;
}

export type BudgetTarget = Pick<BudgetRef, "id" | "periodStart">;

/** Reservations left unsettled this long (a crashed proxy) release their money. */
export const DEFAULT_RESERVATION_TTL_MS = 15 * 60_000;
/** Period keys outlive the longest period (a month) after their last write. */
const PERIOD_KEY_TTL_MS = 40 * 24 * 3600_000;

// Shared Lua: drops a budget period's expired reservations (Redis clock), gives their money
// back, and remembers their ids (a settle that comes after all still records the cost).
const SWEEP = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function sweep(reservedKey, amountsKey, expiryKey, expiredKey)
  local expired = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', nowMs)
  for _, rid in ipairs(expired) do
    local amt = redis.call('HGET', amountsKey, rid)
    if amt then
      redis.call('DECRBY', reservedKey, amt)
      redis.call('HDEL', amountsKey, rid)
      redis.call('SADD', expiredKey, rid)
      redis.call('PEXPIRE', expiredKey, ${PERIOD_KEY_TTL_MS})
    end
    redis.call('ZREM', expiryKey, rid)
  end
end
local function num(v) if v then return tonumber(v) end return 0 end
`;

/**
 * KEYS: per budget spent, reserved, amounts, expiry, expired.
 * ARGV: reservationId, amount, ttlMs, keyTtlMs, then per budget limit, hard(1/0).
 * Reply: {1} reserved | {0, index, spent, reserved} denied | {-1} duplicate id.
 */
export const RESERVE_LUA = `${SWEEP}
local rid, amount, ttl, keyTtl = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local n = #KEYS / 5
for i = 1, n do
  local b = (i - 1) * 5
  sweep(KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], KEYS[b + 5])
  if redis.call('HEXISTS', KEYS[b + 3], rid) == 1 then return {-1} end
end
for i = 1, n do
  local b = (i - 1) * 5
  if ARGV[4 + (i - 1) * 2 + 2] == '1' then
    local spent = redis.call('GET', KEYS[b + 1]) or '0'
    local reserved = redis.call('GET', KEYS[b + 2]) or '0'
    if tonumber(spent) + tonumber(reserved) + tonumber(amount) > tonumber(ARGV[4 + (i - 1) * 2 + 1]) then
      return {0, i, spent, reserved}
    end
  end
end
for i = 1, n do
  local b = (i - 1) * 5
  redis.call('INCRBY', KEYS[b + 2], amount)
  redis.call('HSET', KEYS[b + 3], rid, amount)
  redis.call('ZADD', KEYS[b + 4], nowMs + ttl, rid)
  for k = 1, 4 do redis.call('PEXPIRE', KEYS[b + k], keyTtl) end
end
return {1}
`;
const RESERVE = new LuaScript(RESERVE_LUA);

/**
 * KEYS: per budget spent, reserved, amounts, expiry, expired.
 * ARGV: reservationId, actual, keyTtlMs.
 * Reply: {1} settled | {0} nothing to settle (settled already, or never reserved).
 * Idempotent without a key per request: a live reservation is removed as it is settled,
 * and one that expired first is found (once) in the period's set of expired ids.
 */
export const SETTLE_LUA = `${SWEEP}
local rid, actual, keyTtl = ARGV[1], ARGV[2], ARGV[3]
local n = #KEYS / 5
local settled = 0
for i = 1, n do
  local b = (i - 1) * 5
  sweep(KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], KEYS[b + 5])
  local amt = redis.call('HGET', KEYS[b + 3], rid)
  local found = false
  if amt then
    redis.call('DECRBY', KEYS[b + 2], amt)
    redis.call('HDEL', KEYS[b + 3], rid)
    redis.call('ZREM', KEYS[b + 4], rid)
    found = true
  elseif redis.call('SREM', KEYS[b + 5], rid) == 1 then
    found = true
  end
  if found then
    redis.call('INCRBY', KEYS[b + 1], actual)
    redis.call('PEXPIRE', KEYS[b + 1], keyTtl)
    settled = 1
  end
end
return {settled}
`;
const SETTLE = new LuaScript(SETTLE_LUA);

/** KEYS: spent, reserved, amounts, expiry, expired. Reply: {spent, reserved} as decimal strings. */
const READ = new LuaScript(`${SWEEP}
sweep(KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[2]) or '0'}
`);

/** KEYS: spent. ARGV: floor, keyTtlMs. Raises spent to at least floor. Reply: {spent}. */
const RAISE = new LuaScript(`
local cur = redis.call('GET', KEYS[1]) or '0'
if tonumber(ARGV[1]) > tonumber(cur) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {ARGV[1]}
end
return {cur}
`);

function checkAmount(v: bigint, name: string): string {
  if (typeof v !== "bigint" || v < 0n || v > MAX_NANO_USD) {
    throw new RangeError(`${name} must be a bigint nano-USD amount in [0, 2^53-1], got ${String(v)}`);
  }
  return v.toString();
}

function periodKeys(b: BudgetTarget, o?: KeyOptions): string[] {
  const start = b.periodStart.getTime();
  if (!Number.isFinite(start)) throw new RangeError(`budget ${b.id}: invalid periodStart`);
  return [
    budgetSpentKey(b.id, start, o),
    budgetReservedKey(b.id, start, o),
    budgetReservationAmountsKey(b.id, start, o),
    budgetReservationExpiryKey(b.id, start, o),
    budgetExpiredReservationsKey(b.id, start, o),
  ];
}

export interface ReserveOptions extends KeyOptions {
  /** Defaults to a random UUID. */
  reservationId?: string;
  ttlMs?: number;
}

export type ReserveResult =
  | { ok: true; reservationId: string; budgets: BudgetTarget[] }
  | { ok: false; deniedBy: BudgetRef; spentNanoUsd: bigint; reservedNanoUsd: bigint };

/**
 * Atomically checks every hard budget (spent + reserved + amount > limit → denied,
 * naming the first such budget) and, if none refuses, adds the reservation to all
 * of them, soft ones included. Keep the returned reservation for settleBudget().
 */
/** KEYS and ARGV of RESERVE_LUA (shared with the combined admit script). */
export function reserveCall(
  budgets: readonly BudgetRef[],
  amountNanoUsd: bigint,
  options: ReserveOptions = {},
): { keys: string[]; args: (string | number)[]; reservationId: string; targets: BudgetTarget[] } {
  const amount = checkAmount(amountNanoUsd, "amountNanoUsd");
  const reservationId = options.reservationId ?? randomUUID();
  const ttlMs = options.ttlMs ?? DEFAULT_RESERVATION_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError("ttlMs must be a positive integer");
  const targets = budgets.map((b) => ({ id: b.id, periodStart: b.periodStart }));
  const keys = budgets.flatMap((b) => periodKeys(b, options));
  const args: (string | number)[] = [reservationId, amount, ttlMs, PERIOD_KEY_TTL_MS];
  for (const b of budgets) args.push(checkAmount(b.limitNanoUsd, `limit of budget ${b.id}`), b.hard ? "1" : "0");
  return { keys, args, reservationId, targets };
}

/** RESERVE_LUA's reply as a ReserveResult (a duplicate reservation id throws). */
export function parseReserveReply(reply: readonly unknown[], budgets: readonly BudgetRef[], reservationId: string, targets: BudgetTarget[]): ReserveResult {
  const status = Number(reply[0]);
  if (status === -1) throw new Error(`reservation ${reservationId} already exists`);
  if (status === 1) return { ok: true, reservationId, budgets: targets };
  const denied = budgets[Number(reply[1]) - 1];
  if (!denied) throw new Error("unexpected reply from the reserve script");
  return { ok: false, deniedBy: denied, spentNanoUsd: BigInt(String(reply[2])), reservedNanoUsd: BigInt(String(reply[3])) };
}

/**
 * Atomically checks every hard budget (spent + reserved + amount > limit → denied,
 * naming the first such budget) and, if none refuses, adds the reservation to all
 * of them, soft ones included. Keep the returned reservation for settleBudget().
 */
export async function reserveBudget(
  redis: LimitsRedis,
  budgets: readonly BudgetRef[],
  amountNanoUsd: bigint,
  options: ReserveOptions = {},
): Promise<ReserveResult> {
  const call = reserveCall(budgets, amountNanoUsd, options);
  if (budgets.length === 0) return { ok: true, reservationId: call.reservationId, budgets: call.targets };
  return parseReserveReply(await RESERVE.run(redis, call.keys, call.args), budgets, call.reservationId, call.targets);
}

/** KEYS and ARGV of SETTLE_LUA, or null when the reservation holds no budget. */
export function settleCall(
  reservation: { reservationId: string; budgets: readonly BudgetTarget[] },
  actualNanoUsd: bigint,
  options: KeyOptions = {},
): { keys: string[]; args: (string | number)[] } | null {
  const actual = checkAmount(actualNanoUsd, "actualNanoUsd");
  if (reservation.budgets.length === 0) return null;
  const keys = reservation.budgets.flatMap((b) => periodKeys(b, options));
  return { keys, args: [reservation.reservationId, actual, PERIOD_KEY_TTL_MS] };
}

/**
 * Replaces a reservation with the actual cost in every budget it was made against:
 * the reserved money is released (unless it already expired) and `actualNanoUsd`
 * is added to spent. Idempotent per reservation id for 2 days: a second call
 * changes nothing and returns false. `actualNanoUsd` may exceed what was reserved.
 */
export async function settleBudget(
  redis: LimitsRedis,
  reservation: { reservationId: string; budgets: readonly BudgetTarget[] },
  actualNanoUsd: bigint,
  options: KeyOptions = {},
): Promise<boolean> {
  const call = settleCall(reservation, actualNanoUsd, options);
  if (!call) return true;
  const reply = await SETTLE.run(redis, call.keys, call.args);
  return Number(reply[0]) === 1;
}

/** Current spent and live reserved nano-USD of a budget period (expired reservations released first). */
export async function readBudget(
  redis: LimitsRedis,
  budget: BudgetTarget,
  options: KeyOptions = {},
): Promise<{ spentNanoUsd: bigint; reservedNanoUsd: bigint }> {
  const reply = await READ.run(redis, periodKeys(budget, options), []);
  return { spentNanoUsd: BigInt(String(reply[0])), reservedNanoUsd: BigInt(String(reply[1])) };
}

/**
 * Reconciliation (worker): raises a period's spent to at least the total Postgres
 * has recorded. Postgres only lags Redis (events are queued), so taking the max
 * never undoes a settle, and after a Redis restart it restores the lost spend.
 */
export async function raiseBudgetSpent(
  redis: LimitsRedis,
  budget: BudgetTarget,
  recordedNanoUsd: bigint,
  options: KeyOptions = {},
): Promise<bigint> {
  const floor = checkAmount(recordedNanoUsd, "recordedNanoUsd");
  const [spentKey] = periodKeys(budget, options);
  const reply = await RAISE.run(redis, [spentKey ?? ""], [floor, PERIOD_KEY_TTL_MS]);
  return BigInt(String(reply[0]));
}
