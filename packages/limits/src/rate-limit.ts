import { type KeyOptions, rateLimitKeys } from "./keys";
import { type LimitsRedis, LuaScript } from "./script";

/** One scope a request counts against (e.g. its key and its team). A missing limit means unlimited. */
export interface RateLimitScope {
  scope: string;
  id: string;
  rpm?: number | null;
  tpm?: number | null;
}

export interface RateLimitResult {
  allowed: boolean;
  /** The scope and dimension that refused the request (first in list order). */
  deniedBy?: { scope: string; id: string; limit: "rpm" | "tpm" };
  /** Seconds until the request could be admitted (for `retry-after`); 0 when allowed. */
  retryAfterSeconds: number;
  /** Smallest remaining requests over all scopes with an rpm limit, after this call; null when none has one. */
  remainingRequests: number | null;
  /** Seconds until that tightest request window is empty again (`x-ratelimit-reset-requests`). */
  resetRequestsSeconds: number | null;
  remainingTokens: number | null;
  resetTokensSeconds: number | null;
}

/**
 * Sliding 60-second window counted in 1-second buckets (a hash per scope and
 * minute, field = epoch second). A request at second S counts the buckets
 * S-60..S, i.e. 60-61 s of history, so the window checked always covers the true
 * last 60 s: no 60-s interval ever admits more than the limit (error bound: none
 * over, and at most 1 s of old traffic is counted too long, so a client may be
 * refused up to 1 s early). Time comes from the caller (`nowMs`) because it names
 * the keys; replicas need clocks in sync to well under a second (NTP).
 * Each minute's hash also keeps the running sum of its buckets in field "t", and the
 * part of the previous minute still inside the window is summed once per second
 * (a 2-second key beside the hash), so an admitted request reads two numbers per
 * window instead of every bucket; only a refusal reads the buckets (for retry-after).
 * The one inexactness this adds: a request stamped in the last moment of a minute that
 * reaches Redis after the next minute's first request has cached that total is counted
 * from the next second on (a window of at most one second, at the turn of the minute).
 * A minute's hash gets its TTL (125 s) when a write creates it (its running sum then
 * equals what was just added), not on every write: the minute is read until 120 s after
 * it starts, and it is created no earlier than its start.
 *
 * These are the Lua functions of the scripts (also defined in request.ts's combined
 * scripts); each reads its scopes' keys and args at an offset in KEYS/ARGV (k0, a0).
 * consume: KEYS per scope rpmCur, rpmPrev, tpmCur, tpmPrev; ARGV nowMs, tokens, then per
 * scope rpmLimit, tpmLimit (-1 = unlimited). Reply: allowed, deniedIndex (1-based, 0
 * none), deniedKind (1 rpm, 2 tpm), retryAfterMs, remainingReq, resetReqMs, remainingTok,
 * resetTokMs (-1 = none).
 * correct: KEYS the TPM hashes of the current minute; ARGV second, delta. Reply: {1}.
 * uncountTokens: KEYS and ARGV of consume; takes its tokens back out of the TPM windows.
 */
export const RATE_LIMIT_LUA = `
-- ARGV values are decimal strings; "x + 0" is x's value (tonumber() parses it twice in Redis's Lua 5.1).

-- What this script run has read or written already, so that it is not read again: the
-- items of a batch run one after another with nothing else in between, and every write
-- below goes through count(), which keeps these up to date.
local runTotal = {}   -- current minute hash -> its running sum 't'
local runPartAt = {}  -- previous minute hash -> the second its cached part starts at
local runPart = {}    -- previous minute hash -> that part

-- The window's total without reading every bucket: the current minute's buckets are all
-- inside it and its hash keeps their running sum in field 't'; the previous minute counts
-- from second 'oldest' on, and that part is summed once per second and kept for 2 s
-- under <prevKey>:from:<oldest> (the previous minute takes no more writes once its minute is over).
local function windowTotal(curKey, prevKey, oldest)
  local cur = runTotal[curKey]
  if not cur then
    cur = tonumber(redis.call('HGET', curKey, 't')) or 0
    runTotal[curKey] = cur
  end
  if runPartAt[prevKey] ~= oldest then
    local partKey = prevKey .. ':from:' .. oldest
    local part = tonumber(redis.call('GET', partKey))
    if not part then
      part = 0
      local flat = redis.call('HGETALL', prevKey)
      for i = 1, #flat, 2 do
        local s = tonumber(flat[i])
        if s and s >= oldest then part = part + tonumber(flat[i + 1]) end
      end
      redis.call('SET', partKey, part, 'PX', 2000)
    end
    runPartAt[prevKey] = oldest
    runPart[prevKey] = part
  end
  return cur + runPart[prevKey]
end

-- The window's buckets, oldest first: only a refusal needs them (waitMs, emptyMs).
local function buckets(curKey, prevKey, oldest)
  local list = {}
  for _, k in ipairs({prevKey, curKey}) do
    local flat = redis.call('HGETALL', k)
    for i = 1, #flat, 2 do
      local s = tonumber(flat[i])
      if s and s >= oldest then list[#list + 1] = {s, tonumber(flat[i + 1])} end
    end
  end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  return list
end

-- ms until enough old buckets leave the window for cost to fit; a bucket of second s leaves at (s + 61) s
local function waitMs(list, total, limit, cost, now)
  local need = total + cost - limit
  if need <= 0 then return 0 end
  local freed = 0
  for _, b in ipairs(list) do
    freed = freed + b[2]
    if freed >= need then return (b[1] + 61) * 1000 - now end
  end
  return 60000 -- cost alone exceeds the limit: never fits; tell the client a full window
end

local function emptyMs(list, now)
  if #list == 0 then return 0 end
  return (list[#list][1] + 61) * 1000 - now
end

-- A second as a hash field name (the items of one run are mostly in the same second).
local runSec, runSecString
local function secString(sec)
  if sec ~= runSec then runSec, runSecString = sec, tostring(sec) end
  return runSecString
end

-- Adds n to second sec of a minute hash and to its running sum; a hash this creates gets
-- its TTL. sec and n are decimal strings (Redis converts Lua numbers at a cost on every
-- call), num is n's value.
local function count(key, sec, n, num)
  redis.call('HINCRBY', key, sec, n)
  local total = redis.call('HINCRBY', key, 't', n)
  runTotal[key] = total
  if total == num then redis.call('PEXPIRE', key, '125000') end
end

-- reqs: how many requests to count (a decimal string; default '1'): a lease counts several at once.
local function consume(KEYS, ARGV, k0, a0, n, reqs)
  reqs = reqs or '1'
  local reqsNum = reqs + 0
  local now = ARGV[a0 + 1] + 0
  local tokens = ARGV[a0 + 2] + 0
  local sec = math.floor(now / 1000)
  local oldest = sec - 60

  -- an admitted request's own bucket (this second) is the newest: its window empties 61 s from now
  local ownReset = (sec + 61) * 1000 - now

  local remReq, resetReq, remTok, resetTok = -1, -1, -1, -1
  for i = 1, n do
    local b, a = k0 + (i - 1) * 4, a0 + i * 2
    if ARGV[a + 1] ~= '-1' then
      local rpm = ARGV[a + 1] + 0
      local total = windowTotal(KEYS[b + 1], KEYS[b + 2], oldest)
      if total + reqsNum > rpm then
        local list = buckets(KEYS[b + 1], KEYS[b + 2], oldest)
        return {0, i, 1, waitMs(list, total, rpm, reqsNum, now), math.max(rpm - total, 0), emptyMs(list, now), -1, -1}
      end
      local rem = rpm - total - reqsNum
      if remReq < 0 or rem < remReq then
        remReq = rem
        resetReq = ownReset
      end
    end
    if ARGV[a + 2] ~= '-1' then
      local tpm = ARGV[a + 2] + 0
      local total = windowTotal(KEYS[b + 3], KEYS[b + 4], oldest)
      if total + tokens > tpm then
        local list = buckets(KEYS[b + 3], KEYS[b + 4], oldest)
        return {0, i, 2, waitMs(list, total, tpm, tokens, now), -1, -1, math.max(tpm - total, 0), emptyMs(list, now)}
      end
      local rem = tpm - total - tokens
      if remTok < 0 or rem < remTok then
        remTok = rem
        resetTok = ownReset
      end
    end
  end

  -- every scope has room: consume in all of them (the second's bucket and the minute's total)
  local secField = secString(sec)
  for i = 1, n do
    local b, a = k0 + (i - 1) * 4, a0 + i * 2
    if ARGV[a + 1] ~= '-1' then count(KEYS[b + 1], secField, reqs, reqsNum) end
    if ARGV[a + 2] ~= '-1' and tokens ~= 0 then count(KEYS[b + 3], secField, ARGV[a0 + 2], tokens) end
  end
  return {1, 0, 0, 0, remReq, resetReq, remTok, resetTok}
end

local function correct(KEYS, ARGV, k0, a0, n)
  local sec, delta = ARGV[a0 + 1], ARGV[a0 + 2]
  local num = delta + 0
  for i = 1, n do count(KEYS[k0 + i], sec, delta, num) end
  return {1}
end

-- Takes a consume's requests out of its RPM windows again (same KEYS and ARGV as consume).
local function uncountRequests(KEYS, ARGV, k0, a0, n, reqs)
  local sec = secString(math.floor(ARGV[a0 + 1] / 1000))
  for i = 1, n do
    if ARGV[a0 + i * 2 + 1] ~= '-1' then count(KEYS[k0 + (i - 1) * 4 + 1], sec, '-' .. reqs, -(reqs + 0)) end
  end
end

-- Takes a consume's estimated tokens out of its TPM windows again (same KEYS and ARGV as consume).
local function uncountTokens(KEYS, ARGV, k0, a0, n)
  local tokens = tonumber(ARGV[a0 + 2])
  if tokens == 0 then return end
  local sec = secString(math.floor(ARGV[a0 + 1] / 1000))
  local minus = '-' .. ARGV[a0 + 2]
  for i = 1, n do
    if ARGV[a0 + i * 2 + 2] ~= '-1' then count(KEYS[k0 + (i - 1) * 4 + 3], sec, minus, -tokens) end
  end
end
`;

/** See RATE_LIMIT_LUA's consume. */
export const CONSUME_LUA = `${RATE_LIMIT_LUA}
return consume(KEYS, ARGV, 0, 0, #KEYS / 4)
`;
const CONSUME = new LuaScript(CONSUME_LUA);

/** Adds a (possibly negative) token delta to the current second of each scope's TPM window (and its minute total). */
export const CORRECT_LUA = `${RATE_LIMIT_LUA}
return correct(KEYS, ARGV, 0, 0, #KEYS)
`;
const CORRECT = new LuaScript(CORRECT_LUA);

/** The second of `nowMs` and the start of its minute (rateLimitKeys names the minute before too). */
function windowStarts(nowMs: number) {
  const sec = Math.floor(nowMs / 1000);
  return { sec, current: sec - (sec % 60) };
}

function limitArg(limit: number | null | undefined, name: string): number {
  if (limit === null || limit === undefined) return -1;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`${name} must be a non-negative integer, got ${limit}`);
  return limit;
}

export interface ConsumeOptions extends KeyOptions {
  /** Estimated tokens of the request (input estimate), reserved against TPM up front. Default 0. */
  estimatedTokens?: number;
  /** Clock for the window; default Date.now(). */
  nowMs?: number;
}

/**
 * Checks RPM and TPM of every scope and, only if all have room, counts the request
 * (1 request, `estimatedTokens` tokens) in all of them — one atomic script call.
 */
/** KEYS and ARGV of CONSUME_LUA for `scopes` (shared with the combined admit script). */
export function consumeCall(scopes: readonly RateLimitScope[], options: ConsumeOptions = {}): { keys: string[]; args: number[] } {
  const tokens = options.estimatedTokens ?? 0;
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new RangeError(`estimatedTokens must be a non-negative integer`);
  const now = options.nowMs ?? Date.now();
  const w = windowStarts(now);
  const keys: string[] = [];
  const args: number[] = [now, tokens];
  for (const s of scopes) {
    const k = rateLimitKeys(s.scope, s.id, w.current, options);
    keys.push(k[0]!, k[1]!, k[2]!, k[3]!);
    args.push(limitArg(s.rpm, `rpm of ${s.scope}`), limitArg(s.tpm, `tpm of ${s.scope}`));
  }
  return { keys, args };
}

/** The answer with no scope to check: allowed, nothing to report. */
export const UNLIMITED: RateLimitResult = {
  allowed: true,
  retryAfterSeconds: 0,
  remainingRequests: null,
  resetRequestsSeconds: null,
  remainingTokens: null,
  resetTokensSeconds: null,
};

/** CONSUME_LUA's reply as a RateLimitResult. */
export function parseConsumeReply(reply: readonly unknown[], scopes: readonly RateLimitScope[]): RateLimitResult {
  const [allowed, deniedIndex, deniedKind, retryMs, remReq, resetReq, remTok, resetTok] = reply.map(Number) as [
    number, number, number, number, number, number, number, number,
  ];
  const seconds = (ms: number) => (ms < 0 ? null : Math.ceil(ms / 1000));
  const orNull = (v: number) => (v < 0 ? null : v);
  const denied = deniedIndex > 0 ? scopes[deniedIndex - 1] : undefined;
  return {
    allowed: allowed === 1,
    ...(denied ? { deniedBy: { scope: denied.scope, id: denied.id, limit: deniedKind === 1 ? "rpm" : "tpm" } } : {}),
    retryAfterSeconds: Math.max(Math.ceil(retryMs / 1000), allowed === 1 ? 0 : 1),
    remainingRequests: orNull(remReq),
    resetRequestsSeconds: seconds(resetReq),
    remainingTokens: orNull(remTok),
    resetTokensSeconds: seconds(resetTok),
  };
}

/**
 * Checks RPM and TPM of every scope and, only if all have room, counts the request
 * (1 request, `estimatedTokens` tokens) in all of them — one atomic script call.
 */
export async function consumeRateLimit(
  redis: LimitsRedis,
  scopes: readonly RateLimitScope[],
  options: ConsumeOptions = {},
): Promise<RateLimitResult> {
  const { keys, args } = consumeCall(scopes, options);
  if (scopes.length === 0) return { ...UNLIMITED };
  return parseConsumeReply(await CONSUME.run(redis, keys, args), scopes);
}

/**
 * After the call: adjusts each scope's TPM window by `delta` = actual − estimated
 * tokens (negative gives tokens back). Counted at the current second, so the
 * correction leaves the window 60 s from now.
 */
/** KEYS and ARGV of CORRECT_LUA, or null when there is nothing to correct. */
export function correctCall(
  scopes: readonly Pick<RateLimitScope, "scope" | "id" | "tpm">[],
  delta: number,
  options: Omit<ConsumeOptions, "estimatedTokens"> = {},
): { keys: string[]; args: number[] } | null {
  if (!Number.isSafeInteger(delta)) throw new RangeError(`delta must be an integer, got ${delta}`);
  const limited = scopes.filter((s) => s.tpm !== null && s.tpm !== undefined);
  if (delta === 0 || limited.length === 0) return null;
  const w = windowStarts(options.nowMs ?? Date.now());
  return { keys: limited.map((s) => rateLimitKeys(s.scope, s.id, w.current, options)[2]!), args: [w.sec, delta] };
}

export async function correctTokens(
  redis: LimitsRedis,
  scopes: readonly Pick<RateLimitScope, "scope" | "id" | "tpm">[],
  delta: number,
  options: Omit<ConsumeOptions, "estimatedTokens"> = {},
): Promise<void> {
  const call = correctCall(scopes, delta, options);
  if (call) await CORRECT.run(redis, call.keys, call.args);
}
