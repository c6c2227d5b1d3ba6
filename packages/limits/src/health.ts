import type { Redis } from "ioredis";

/**
 * Provider health shared by every proxy replica (issue 6). A target is a public
 * model name. Keys, all under `${prefix}health:`:
 *
 * - `health:b:<target>:<bucketStartMs>`: hash `ok`, `err`, `lsum`, `lcnt` (latency
 *   sum / count of successful attempts, whole ms) for one time bucket; each replica
 *   adds its local deltas once per sync; expires `windowMs + bucketMs` after the
 *   last write, so no cleanup job is needed.
 * - `health:circuit:<target>`: hash `state`, `until` (open until, epoch ms),
 *   `changed` (epoch ms of the last transition), `streak` (consecutive re-opens
 *   without closing, for backoff). Absent = closed. Changed only by the TRANSITION
 *   script (compare-and-set), so concurrent replicas agree on one outcome.
 * - `health:cooldown:<keyId>`: string until-ms, SET with PX; plus the sorted set
 *   `health:cooldowns` (keyId → until-ms) so a replica can learn of cooldowns it has
 *   never asked about in one read.
 *
 * Time comes from the caller (`nowMs`) because it names the buckets; replicas need
 * NTP-synced clocks, as for rate limits.
 */

/** What this module needs from an ioredis client; the dashboard's and the proxy's clients fit. */
export type HealthRedis = Pick<Redis, "pipeline">;

export type CircuitState = "closed" | "open" | "half-open" | "recovering";

/** One row of the dashboard's Health page. */
export interface HealthReportRow {
  target: string;
  /** Effective state at `nowMs` (an open circuit past its `openUntil` reads as half-open). */
  state: CircuitState;
  /** Attempts (ok + errors) over the window, all replicas. */
  requests: number;
  errors: number;
  /** errors / requests; null with no requests. */
  errorRate: number | null;
  /** Mean time to headers of successful attempts over the window; null with none. */
  avgLatencyMs: number | null;
  /** Epoch ms the open period ends; null unless open. */
  openUntil: number | null;
  /** Epoch ms of the last state change; null if the circuit never left closed (or that record expired). */
  changedAt: number | null;
}

export interface HealthWindowOptions {
  /** Default Date.now(). */
  nowMs?: number;
  /** Default 120 000 (2 minutes). */
  windowMs?: number;
  /** Default 10 000. `windowMs` should be a multiple of it. */
  bucketMs?: number;
}

export const DEFAULT_HEALTH_WINDOW_MS = 120_000;
export const DEFAULT_HEALTH_BUCKET_MS = 10_000;

/**
 * The bucket size for a window: a dozen buckets, at most 10 s each (so a short test
 * window still has fine buckets). Writers (proxies) and readers (the dashboard) must
 * agree on it, so both derive it from the window with this.
 */
export function healthBucketMs(windowMs: number): number {
  return Math.max(50, Math.min(DEFAULT_HEALTH_BUCKET_MS, Math.floor(windowMs / 12)));
}
/** Circuit records outlive any open period; a target left alone long enough reads as closed again. */
const CIRCUIT_TTL_MS = 24 * 3600_000;

/** Counters of one bucket. */
export interface HealthBucket {
  startMs: number;
  ok: number;
  errors: number;
  latencySumMs: number;
  latencyCount: number;
}

/** The shared circuit of one target as stored. */
export interface CircuitRecord {
  state: CircuitState;
  /** Epoch ms the open period ends; null unless open. */
  openUntil: number | null;
  changedAt: number | null;
  /** Consecutive re-opens since the circuit was last closed (0 for a first open). */
  streak: number;
}

export const CLOSED_CIRCUIT: CircuitRecord = { state: "closed", openUntil: null, changedAt: null, streak: 0 };

export function healthBucketKey(prefix: string, target: string, bucketStartMs: number): string {
  return `${prefix}health:b:${target}:${bucketStartMs}`;
}

export function healthCircuitKey(prefix: string, target: string): string {
  return `${prefix}health:circuit:${target}`;
}

export function keyCooldownKey(prefix: string, keyId: string): string {
  return `${prefix}health:cooldown:${keyId}`;
}

export function keyCooldownIndexKey(prefix: string): string {
  return `${prefix}health:cooldowns`;
}

/** Start times of the buckets making up the window ending at `nowMs`, oldest first (the current bucket included). */
export function windowBucketStarts(nowMs: number, windowMs: number, bucketMs: number): number[] {
  const current = nowMs - (nowMs % bucketMs);
  const n = Math.max(1, Math.ceil(windowMs / bucketMs));
  return Array.from({ length: n }, (_, i) => current - (n - 1 - i) * bucketMs);
}

/**
 * Compare-and-set of one circuit. ARGV: from (space-separated states), to, nowMs,
 * openMs, maxOpenMs, ttlMs, minAgeMs. Refused (reply[1] = 0) unless the current
 * state is in `from`, at least `minAgeMs` passed since the last change and, for
 * open → half-open, the open period is over. Opening from closed starts the
 * backoff streak at 0; opening from any other state (a failed probe, errors while
 * recovering) doubles the open period, capped at maxOpenMs.
 * Reply: applied (0/1), state, until ('' = none), changed ('' = none), streak.
 */
const TRANSITION = `
local cur = redis.call('HMGET', KEYS[1], 'state', 'until', 'changed', 'streak')
local state = cur[1] or 'closed'
local untilMs = tonumber(cur[2])
local changed = tonumber(cur[3])
local streak = tonumber(cur[4]) or 0
local now = tonumber(ARGV[3])
local function reply(applied)
  return {applied, state, untilMs and string.format('%d', untilMs) or '', changed and string.format('%d', changed) or '', streak}
end
local allowed = false
for s in string.gmatch(ARGV[1], '%S+') do
  if s == state then allowed = true end
end
if not allowed then return reply(0) end
local to = ARGV[2]
if changed and now - changed < tonumber(ARGV[7]) then return reply(0) end
if to == 'half-open' and untilMs and now < untilMs then return reply(0) end
if to == 'open' then
  if state == 'closed' then streak = 0 else streak = streak + 1 end
  local d = tonumber(ARGV[4])
  for _ = 1, math.min(streak, 30) do d = d * 2 end
  d = math.min(d, tonumber(ARGV[5]))
  untilMs = now + d
else
  untilMs = nil
  if to == 'closed' then streak = 0 end
end
state = to
changed = now
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', state, 'changed', string.format('%d', now), 'streak', streak)
if untilMs then redis.call('HSET', KEYS[1], 'until', string.format('%d', untilMs)) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]))
return reply(1)
`;

/**
 * Sets a cooldown unless a later one is already set. KEYS: cooldown, index.
 * ARGV: untilMs, nowMs, keyId. The index lives as long as its longest entry.
 */
const COOL_DOWN = `
local untilMs = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local prev = tonumber(redis.call('GET', KEYS[1]) or '0')
if prev >= untilMs or untilMs <= now then return prev end
redis.call('SET', KEYS[1], string.format('%d', untilMs), 'PX', untilMs - now)
redis.call('ZADD', KEYS[2], untilMs, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('PTTL', KEYS[2]) < untilMs - now then redis.call('PEXPIRE', KEYS[2], untilMs - now) end
return untilMs
`;

type PipelineResult = [Error | null, unknown][] | null;

function unwrap(results: PipelineResult): unknown[] {
  if (!results) throw new Error("redis pipeline returned no results");
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

function num(v: string | undefined): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function parseBucket(startMs: number, h: Record<string, string>): HealthBucket {
  return { startMs, ok: num(h.ok), errors: num(h.err), latencySumMs: num(h.lsum), latencyCount: num(h.lcnt) };
}

const STATES: readonly CircuitState[] = ["closed", "open", "half-open", "recovering"];

function parseCircuit(h: Record<string, string>): CircuitRecord {
  const state = STATES.find((s) => s === h.state);
  if (!state) return CLOSED_CIRCUIT;
  return {
    state,
    openUntil: state === "open" && h.until ? num(h.until) : null,
    changedAt: h.changed ? num(h.changed) : null,
    streak: num(h.streak),
  };
}

/** Per-target deltas a replica gathered since its last sync. */
export interface HealthDelta {
  target: string;
  /** Any time inside the bucket; rounded down to the bucket's start. */
  bucketStartMs: number;
  ok: number;
  errors: number;
  latencySumMs: number;
  latencyCount: number;
}

export interface HealthSyncResult {
  /** The window's buckets per target (oldest first; missing buckets as zeros). */
  windows: Map<string, HealthBucket[]>;
  circuits: Map<string, CircuitRecord>;
  /** keyId → cooldown end (epoch ms) of every cooldown still running. */
  cooldowns: Map<string, number>;
}

/**
 * One replica's sync in a single pipelined round trip: adds `deltas` to the shared
 * buckets, then reads the window, the circuit of each of `targets` and the running
 * key cooldowns (the reads see the writes made just before them).
 */
export async function syncHealth(
  redis: HealthRedis,
  prefix: string,
  input: { deltas: readonly HealthDelta[]; targets: readonly string[] } & HealthWindowOptions,
): Promise<HealthSyncResult> {
  const nowMs = input.nowMs ?? Date.now();
  const windowMs = input.windowMs ?? DEFAULT_HEALTH_WINDOW_MS;
  const bucketMs = input.bucketMs ?? DEFAULT_HEALTH_BUCKET_MS;
  const ttl = windowMs + bucketMs;
  const p = redis.pipeline();
  for (const d of input.deltas) {
    const start = d.bucketStartMs - (d.bucketStartMs % bucketMs);
    const key = healthBucketKey(prefix, d.target, start);
    if (d.ok) p.hincrby(key, "ok", d.ok);
    if (d.errors) p.hincrby(key, "err", d.errors);
    if (d.latencyCount) {
      p.hincrby(key, "lsum", Math.round(d.latencySumMs));
      p.hincrby(key, "lcnt", d.latencyCount);
    }
    // ttl from the bucket's end, so a late flush of an old bucket does not outlive the window
    p.pexpire(key, Math.max(1, start + bucketMs + ttl - nowMs));
  }
  const writes = p.length;
  const starts = windowBucketStarts(nowMs, windowMs, bucketMs);
  for (const t of input.targets) {
    for (const s of starts) p.hgetall(healthBucketKey(prefix, t, s));
    p.hgetall(healthCircuitKey(prefix, t));
  }
  p.zrangebyscore(keyCooldownIndexKey(prefix), `(${nowMs}`, "+inf", "WITHSCORES");
  const values = unwrap(await p.exec()).slice(writes);

  const windows = new Map<string, HealthBucket[]>();
  const circuits = new Map<string, CircuitRecord>();
  let i = 0;
  for (const t of input.targets) {
    windows.set(
      t,
      starts.map((s) => parseBucket(s, values[i++] as Record<string, string>)),
    );
    circuits.set(t, parseCircuit(values[i++] as Record<string, string>));
  }
  const flat = values[i] as string[];
  const cooldowns = new Map<string, number>();
  for (let j = 0; j + 1 < flat.length; j += 2) cooldowns.set(flat[j]!, num(flat[j + 1]));
  return { windows, circuits, cooldowns };
}

/** A requested circuit change; see TRANSITION for when it is refused. */
export interface CircuitTransition {
  target: string;
  from: readonly CircuitState[];
  to: CircuitState;
  /** Required time since the last change (recovering → closed after the ramp). Default 0. */
  minAgeMs?: number;
}

export interface CircuitTransitionOptions {
  nowMs?: number;
  /** First open period. Default 30 000. */
  openMs?: number;
  /** Cap of the doubling open period. Default 300 000. */
  maxOpenMs?: number;
}

/**
 * Applies circuit transitions atomically, each a compare-and-set (pipelined, one
 * round trip). Returns each target's circuit afterwards and whether this call
 * changed it; a refused transition returns the state another replica left.
 */
export async function transitionCircuits(
  redis: HealthRedis,
  prefix: string,
  transitions: readonly CircuitTransition[],
  options: CircuitTransitionOptions = {},
): Promise<{ target: string; applied: boolean; circuit: CircuitRecord }[]> {
  if (transitions.length === 0) return [];
  const nowMs = options.nowMs ?? Date.now();
  const p = redis.pipeline();
  for (const t of transitions) {
    // EVAL, not EVALSHA: transitions are rare and a pipeline cannot retry on NOSCRIPT
    p.eval(
      TRANSITION,
      1,
      healthCircuitKey(prefix, t.target),
      t.from.join(" "),
      t.to,
      nowMs,
      options.openMs ?? 30_000,
      options.maxOpenMs ?? 300_000,
      CIRCUIT_TTL_MS,
      t.minAgeMs ?? 0,
    );
  }
  const values = unwrap(await p.exec());
  return transitions.map((t, i) => {
    const [applied, state, until, changed, streak] = values[i] as [number, string, string, string, number];
    return {
      target: t.target,
      applied: applied === 1,
      circuit: parseCircuit({ state, until, changed, streak: String(streak) }),
    };
  });
}

/** Shares a provider-key cooldown until `untilMs`; a running longer cooldown is kept. Returns the cooldown's end. */
export async function setKeyCooldown(
  redis: HealthRedis,
  prefix: string,
  keyId: string,
  untilMs: number,
  nowMs: number = Date.now(),
): Promise<number> {
  const p = redis.pipeline();
  p.eval(COOL_DOWN, 2, keyCooldownKey(prefix, keyId), keyCooldownIndexKey(prefix), Math.ceil(untilMs), nowMs, keyId);
  return Number(unwrap(await p.exec())[0]);
}

/** The state a reader should show at `nowMs`: an expired open period is half-open (the next probe decides). */
export function effectiveCircuitState(c: CircuitRecord, nowMs: number): CircuitState {
  if (c.state === "open" && c.openUntil !== null && nowMs >= c.openUntil) return "half-open";
  return c.state;
}

/** Totals of buckets starting at or after `sinceMs`. */
export function sumBuckets(buckets: readonly HealthBucket[], sinceMs = -Infinity) {
  let ok = 0;
  let errors = 0;
  let latencySumMs = 0;
  let latencyCount = 0;
  for (const b of buckets) {
    if (b.startMs < sinceMs) continue;
    ok += b.ok;
    errors += b.errors;
    latencySumMs += b.latencySumMs;
    latencyCount += b.latencyCount;
  }
  const requests = ok + errors;
  return {
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : null,
    avgLatencyMs: latencyCount > 0 ? latencySumMs / latencyCount : null,
  };
}

/** Health of `targets` over the window, all replicas, for the dashboard's Health page (read only). */
export async function readHealthReport(
  redis: HealthRedis,
  prefix: string,
  targets: string[],
  opts: HealthWindowOptions = {},
): Promise<HealthReportRow[]> {
  const nowMs = opts.nowMs ?? Date.now();
  const { windows, circuits } = await syncHealth(redis, prefix, { ...opts, nowMs, deltas: [], targets });
  return targets.map((target) => {
    const circuit = circuits.get(target) ?? CLOSED_CIRCUIT;
    const state = effectiveCircuitState(circuit, nowMs);
    return {
      target,
      state,
      ...sumBuckets(windows.get(target) ?? []),
      openUntil: state === "open" ? circuit.openUntil : null,
      changedAt: circuit.changedAt,
    };
  });
}
