import { randomUUID } from "node:crypto";
import { budgetPeriodKeys, type KeyOptions } from "./keys";
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
/**
 * Period keys outlive the longest period (a month): they expire this long after they were
 * created (the set of expired ids: after its last write).
 */
const PERIOD_KEY_TTL_MS = 40 * 24 * 3600_000;

/**
 * Lua functions of the budget scripts (also defined in request.ts's combined scripts).
 * Each function reads its budgets' keys and args at an offset in KEYS/ARGV (k0, a0), so a
 * combined script passes its own tables without copying them apart.
 *
 * Costs, per budget: a reserve is HSETNX, INCRBY and ZADD (and, for a hard budget, an MGET
 * of spent and reserved unless the script run has them already); a settle is HGET, DECRBY,
 * HDEL, ZREM and INCRBY. What makes that enough:
 * - Expired reservations are released only when a decision depends on them: a reserve
 *   that fits even with them counted is admitted without looking (releasing them would
 *   only lower `reserved`); one that does not fit, and every read, sweeps first and
 *   decides again (reserveSwept, READ). A settle finds its own reservation either way:
 *   still held (expired or not) or already swept into the set of expired ids, and both
 *   give the same result, so it sweeps nothing.
 * - A key gets its TTL when it is (re)created, which the scripts see in replies they
 *   get anyway, not on every write: `spent` when a settle's INCRBY returns no more than
 *   what it added (it was missing or 0); `reserved`, the amounts hash and the expiry zset
 *   together whenever a reserve's INCRBY of `reserved` returns no more than the amount
 *   (it was missing or 0). The two collections hold exactly the reservations `reserved`
 *   sums, so they are empty, and are (re)created by this reserve, only when it was 0;
 *   the three always get the same expiry and so disappear together. A period's keys are
 *   first written during the period, so PERIOD_KEY_TTL_MS after that outlives it.
 * - Redis's clock is read once per script run (one atomic step, however many calls it holds).
 * - A script run remembers the spent and reserved counters it has read or written: the
 *   items of a batch (BatchedScript) run one after another with nothing else in between.
 */
export const BUDGET_LUA = `
-- ARGV values are decimal strings; "x + 0" is x's value (tonumber() parses it twice in Redis's Lua 5.1).

local runNowMs
local function redisNowMs()
  if not runNowMs then
    local t = redis.call('TIME')
    runNowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return runNowMs
end

-- ttl (ms, decimal string) from now, as a decimal string (a ZADD score).
local runExpiresAt = {}
local function expiresAt(ttl)
  local at = runExpiresAt[ttl]
  if not at then
    at = string.format('%.0f', redisNowMs() + tonumber(ttl))
    runExpiresAt[ttl] = at
  end
  return at
end

-- The spent and reserved counters this script run has read or written already, so that
-- they are not read again: the items of a batch run one after another with nothing else
-- in between, and every write to them below keeps these up to date.
local runSpent, runReserved = {}, {}

-- Gives a reservation's money back. Below 0 means the counter was gone (evicted): it was
-- just created and needs a TTL like any other key.
local function release(reservedKey, amt, keyTtl)
  local reserved = redis.call('DECRBY', reservedKey, amt)
  runReserved[reservedKey] = reserved
  if reserved < 0 then redis.call('PEXPIRE', reservedKey, keyTtl) end
end

-- Drops a budget period's expired reservations, gives their money back, and remembers
-- their ids (a settle that comes after all still records the cost).
local function sweep(reservedKey, amountsKey, expiryKey, expiredKey, nowMs, keyTtl)
  local expired = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', nowMs)
  for _, rid in ipairs(expired) do
    local amt = redis.call('HGET', amountsKey, rid)
    if amt then
      release(reservedKey, amt, keyTtl)
      redis.call('HDEL', amountsKey, rid)
      redis.call('SADD', expiredKey, rid)
      redis.call('PEXPIRE', expiredKey, keyTtl)
    end
    redis.call('ZREM', expiryKey, rid)
  end
end

-- Adds a reservation (already in every amounts hash) to each budget's reserved sum and
-- expiry zset. amount, expiresAt and keyTtl are decimal strings (Redis converts Lua
-- numbers at a cost on every call), amt is amount's value.
local function hold(KEYS, k0, n, rid, amount, amt, expiresAt, keyTtl)
  for i = 1, n do
    local b = k0 + (i - 1) * 5
    local reserved = redis.call('INCRBY', KEYS[b + 2], amount)
    runReserved[KEYS[b + 2]] = reserved
    redis.call('ZADD', KEYS[b + 4], expiresAt, rid)
    if reserved <= amt then
      redis.call('PEXPIRE', KEYS[b + 2], keyTtl)
      redis.call('PEXPIRE', KEYS[b + 3], keyTtl)
      redis.call('PEXPIRE', KEYS[b + 4], keyTtl)
    end
  end
end

-- The reserve decided on swept budgets: every expired reservation released first.
local function reserveSwept(KEYS, ARGV, k0, a0, n)
  local rid, amount, keyTtl = ARGV[a0 + 1], ARGV[a0 + 2], ARGV[a0 + 4]
  local amt = tonumber(amount)
  local nowMs = redisNowMs()
  for i = 1, n do
    local b = k0 + (i - 1) * 5
    sweep(KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], KEYS[b + 5], nowMs, keyTtl)
    if redis.call('HEXISTS', KEYS[b + 3], rid) == 1 then return {-1} end
  end
  local minFree = -1
  for i = 1, n do
    if ARGV[a0 + 4 + i * 2] == '1' then
      local b = k0 + (i - 1) * 5
      local v = redis.call('MGET', KEYS[b + 1], KEYS[b + 2])
      local spent, reserved = v[1] or '0', v[2] or '0'
      runSpent[KEYS[b + 1]], runReserved[KEYS[b + 2]] = tonumber(spent), tonumber(reserved)
      local free = tonumber(ARGV[a0 + 3 + i * 2]) - runSpent[KEYS[b + 1]] - runReserved[KEYS[b + 2]] - amt
      if free < 0 then
        return {0, i, spent, reserved}
      end
      if minFree < 0 or free < minFree then minFree = free end
    end
  end
  for i = 1, n do redis.call('HSET', KEYS[k0 + (i - 1) * 5 + 3], rid, amount) end
  hold(KEYS, k0, n, rid, amount, amt, expiresAt(ARGV[a0 + 3]), keyTtl)
  return {1, minFree}
end

local function reserve(KEYS, ARGV, k0, a0, n)
  local rid, amount = ARGV[a0 + 1], ARGV[a0 + 2]
  local amt = amount + 0
  local minFree = -1
  for i = 1, n do
    if ARGV[a0 + 4 + i * 2] == '1' then
      local b = k0 + (i - 1) * 5
      local spent, reserved = runSpent[KEYS[b + 1]], runReserved[KEYS[b + 2]]
      if not (spent and reserved) then
        local v = redis.call('MGET', KEYS[b + 1], KEYS[b + 2])
        spent, reserved = tonumber(v[1]) or 0, tonumber(v[2]) or 0
        runSpent[KEYS[b + 1]], runReserved[KEYS[b + 2]] = spent, reserved
      end
      -- Over the limit with expired reservations still counted: decide on the swept state.
      local free = ARGV[a0 + 3 + i * 2] - spent - reserved - amt
      if free < 0 then
        return reserveSwept(KEYS, ARGV, k0, a0, n)
      end
      if minFree < 0 or free < minFree then minFree = free end
    end
  end
  for i = 1, n do
    if redis.call('HSETNX', KEYS[k0 + (i - 1) * 5 + 3], rid, amount) == 0 then
      -- The id is held already (live, or expired and not yet swept): undo, decide on the swept state.
      for j = 1, i - 1 do redis.call('HDEL', KEYS[k0 + (j - 1) * 5 + 3], rid) end
      return reserveSwept(KEYS, ARGV, k0, a0, n)
    end
  end
  hold(KEYS, k0, n, rid, amount, amt, expiresAt(ARGV[a0 + 3]), ARGV[a0 + 4])
  return {1, minFree}
end

-- Adds a cost to a period's spent (amount a decimal string, num its value); a counter this
-- creates gets its TTL.
local function addSpent(spentKey, amount, num, keyTtl)
  local spent = redis.call('INCRBY', spentKey, amount)
  runSpent[spentKey] = spent
  if spent <= num then redis.call('PEXPIRE', spentKey, keyTtl) end
end

-- Part of a reservation becomes spend, and the reservation keeps the rest: 'rel' of its
-- amount leaves reserved (no more than it holds) and 'spend' is added to spent, in every
-- budget that holds it (or, expired, remembers its id). For a lease: its finished
-- requests' cost must not wait for its last request. Reply: {1} done, {0} not found
-- (settled already). ARGV: reservationId, release, spend, keyTtlMs.
local function trim(KEYS, ARGV, k0, a0, n)
  local rid, rel, spend, keyTtl = ARGV[a0 + 1], ARGV[a0 + 2] + 0, ARGV[a0 + 3], ARGV[a0 + 4]
  local spendNum = spend + 0
  local done = 0
  for i = 1, n do
    local b = k0 + (i - 1) * 5
    local amt = tonumber(redis.call('HGET', KEYS[b + 3], rid))
    local found = false
    if amt then
      local r = rel
      if r > amt then r = amt end
      if r > 0 then
        release(KEYS[b + 2], string.format('%.0f', r), keyTtl)
        redis.call('HSET', KEYS[b + 3], rid, string.format('%.0f', amt - r))
      end
      found = true
    elseif redis.call('SISMEMBER', KEYS[b + 5], rid) == 1 then
      found = true
    end
    if found then
      done = 1
      if spendNum > 0 then addSpent(KEYS[b + 1], spend, spendNum, keyTtl) end
    end
  end
  return {done}
end

local function settle(KEYS, ARGV, k0, a0, n)
  local rid, actual, keyTtl = ARGV[a0 + 1], ARGV[a0 + 2], ARGV[a0 + 3]
  local actualNum = actual + 0
  local settled = 0
  for i = 1, n do
    local b = k0 + (i - 1) * 5
    local amt = redis.call('HGET', KEYS[b + 3], rid)
    local found = false
    if amt then
      release(KEYS[b + 2], amt, keyTtl)
      redis.call('HDEL', KEYS[b + 3], rid)
      redis.call('ZREM', KEYS[b + 4], rid)
      found = true
    elseif redis.call('SREM', KEYS[b + 5], rid) == 1 then
      found = true
    end
    if found then
      addSpent(KEYS[b + 1], actual, actualNum, keyTtl)
      settled = 1
    end
  end
  return {settled}
end
`;

/**
 * KEYS: per budget spent, reserved, amounts, expiry, expired.
 * ARGV: reservationId, amount, ttlMs, keyTtlMs, then per budget limit, hard(1/0).
 * Reply: {1, free} reserved (free: the least headroom left over the hard budgets, -1
 * when none is hard) | {0, index, spent, reserved} denied | {-1} duplicate id.
 */
export const RESERVE_LUA = `${BUDGET_LUA}
return reserve(KEYS, ARGV, 0, 0, #KEYS / 5)
`;
const RESERVE = new LuaScript(RESERVE_LUA);

/**
 * KEYS: per budget spent, reserved, amounts, expiry, expired.
 * ARGV: reservationId, actual, keyTtlMs.
 * Reply: {1} settled | {0} nothing to settle (settled already, or never reserved).
 * Idempotent without a key per request: a live reservation is removed as it is settled,
 * and one that expired first is found (once) in the period's set of expired ids.
 */
export const SETTLE_LUA = `${BUDGET_LUA}
return settle(KEYS, ARGV, 0, 0, #KEYS / 5)
`;
const SETTLE = new LuaScript(SETTLE_LUA);

/** KEYS: spent, reserved, amounts, expiry, expired. ARGV: keyTtlMs. Reply: {spent, reserved} as decimal strings. */
const READ = new LuaScript(`${BUDGET_LUA}
sweep(KEYS[2], KEYS[3], KEYS[4], KEYS[5], redisNowMs(), ARGV[1])
local v = redis.call('MGET', KEYS[1], KEYS[2])
return {v[1] or '0', v[2] or '0'}
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

function periodKeys(b: BudgetTarget, o?: KeyOptions): readonly string[] {
  const start = b.periodStart.getTime();
  if (!Number.isFinite(start)) throw new RangeError(`budget ${b.id}: invalid periodStart`);
  return budgetPeriodKeys(b.id, start, o);
}

/**
 * Every budget's period keys, in order. A loop, not Array#flatMap: V8's flatMap appends
 * each element through its generic property path, ~20× the cost of push (1.4 µs against
 * 0.07 µs for three budgets), and this runs twice per request.
 */
function allPeriodKeys(budgets: readonly BudgetTarget[], o?: KeyOptions): string[] {
  const keys: string[] = [];
  for (const b of budgets) for (const k of periodKeys(b, o)) keys.push(k);
  return keys;
}

export interface ReserveOptions extends KeyOptions {
  /** Defaults to a random UUID. */
  reservationId?: string;
  ttlMs?: number;
}

export type ReserveResult =
  | {
      ok: true;
      reservationId: string;
      budgets: BudgetTarget[];
      /** The least limit − spent − reserved over the hard budgets after this reservation; null when none is hard (or not known). */
      freeNanoUsd: bigint | null;
    }
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
  const keys = allPeriodKeys(budgets, options);
  const args: (string | number)[] = [reservationId, amount, ttlMs, PERIOD_KEY_TTL_MS];
  for (const b of budgets) args.push(checkAmount(b.limitNanoUsd, `limit of budget ${b.id}`), b.hard ? "1" : "0");
  return { keys, args, reservationId, targets };
}

/** RESERVE_LUA's reply as a ReserveResult (a duplicate reservation id throws). */
export function parseReserveReply(reply: readonly unknown[], budgets: readonly BudgetRef[], reservationId: string, targets: BudgetTarget[]): ReserveResult {
  const status = Number(reply[0]);
  if (status === -1) throw new Error(`reservation ${reservationId} already exists`);
  if (status === 1) {
    const free = reply[1] === undefined ? -1 : Number(reply[1]);
    return { ok: true, reservationId, budgets: targets, freeNanoUsd: free < 0 ? null : BigInt(free) };
  }
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
  if (budgets.length === 0) return { ok: true, reservationId: call.reservationId, budgets: call.targets, freeNanoUsd: null };
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
  const keys = allPeriodKeys(reservation.budgets, options);
  return { keys, args: [reservation.reservationId, actual, PERIOD_KEY_TTL_MS] };
}

/** KEYS and ARGV of the trim function (a lease's partial settle), or null when the reservation holds no budget. */
export function trimCall(
  reservation: { reservationId: string; budgets: readonly BudgetTarget[] },
  releaseNanoUsd: bigint,
  spendNanoUsd: bigint,
  options: KeyOptions = {},
): { keys: string[]; args: (string | number)[] } | null {
  const release = checkAmount(releaseNanoUsd, "releaseNanoUsd");
  const spend = checkAmount(spendNanoUsd, "spendNanoUsd");
  if (reservation.budgets.length === 0) return null;
  return { keys: allPeriodKeys(reservation.budgets, options), args: [reservation.reservationId, release, spend, PERIOD_KEY_TTL_MS] };
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
  const reply = await READ.run(redis, periodKeys(budget, options), [PERIOD_KEY_TTL_MS]);
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
