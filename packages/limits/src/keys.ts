/**
 * The Redis key layout of every counter this package owns. All keys start with a
 * prefix (default "sy:") so tests and multiple deployments can share one Redis.
 * See README.md for the table.
 */
export interface KeyOptions {
  prefix?: string;
}

export const DEFAULT_PREFIX = "sy:";

const p = (o?: KeyOptions) => o?.prefix ?? DEFAULT_PREFIX;

/** Hash of per-second request counts for one scope in the minute starting at `windowStart` (epoch seconds). */
export function rpmKey(scope: string, id: string, windowStart: number, o?: KeyOptions): string {
  return `${p(o)}rl:rpm:${scope}:${id}:${windowStart}`;
}

/** Hash of per-second token counts for one scope in the minute starting at `windowStart` (epoch seconds). */
export function tpmKey(scope: string, id: string, windowStart: number, o?: KeyOptions): string {
  return `${p(o)}rl:tpm:${scope}:${id}:${windowStart}`;
}

/** Settled spend (integer nano-USD) of a budget in the period starting at `periodStartMs` (epoch ms, UTC instant). */
export function budgetSpentKey(budgetId: string, periodStartMs: number, o?: KeyOptions): string {
  return `${p(o)}budget:${budgetId}:${periodStartMs}:spent`;
}

/** Sum (integer nano-USD) of the live reservations held against a budget period. */
export function budgetReservedKey(budgetId: string, periodStartMs: number, o?: KeyOptions): string {
  return `${p(o)}budget:${budgetId}:${periodStartMs}:reserved`;
}

/** Hash reservationId → reserved nano-USD of the live reservations of a budget period. */
export function budgetReservationAmountsKey(budgetId: string, periodStartMs: number, o?: KeyOptions): string {
  return `${p(o)}budget:${budgetId}:${periodStartMs}:resv`;
}

/** Sorted set reservationId → expiry (epoch ms, Redis clock) of the live reservations of a budget period. */
export function budgetReservationExpiryKey(budgetId: string, periodStartMs: number, o?: KeyOptions): string {
  return `${p(o)}budget:${budgetId}:${periodStartMs}:resv-exp`;
}

/** Set of the ids of a budget period's reservations that expired unsettled (a late settle still records its cost, once). */
export function budgetExpiredReservationsKey(budgetId: string, periodStartMs: number, o?: KeyOptions): string {
  return `${p(o)}budget:${budgetId}:${periodStartMs}:resv-expired`;
}

/**
 * Key strings are kept across requests, per prefix and id, for the current window or
 * period: a request names ~40 keys, and building them afresh (and hashing each new
 * string again in a batch's key index) was ~5 % of the proxy's CPU. A kept entry is
 * used only when scope and time match exactly; a cache that outgrows MAX_KEPT_IDS (far
 * more keys, teams and budgets than one deployment has) starts over.
 */
const MAX_KEPT_IDS = 100_000;
type Kept = { scope: string; at: number; keys: readonly string[] };
const keptRateKeys = new Map<string, Map<string, Kept>>();
const keptBudgetKeys = new Map<string, Map<string, Kept>>();

function keptFor(store: Map<string, Map<string, Kept>>, prefix: string): Map<string, Kept> {
  let m = store.get(prefix);
  if (!m || m.size >= MAX_KEPT_IDS) {
    m = new Map();
    store.set(prefix, m);
  }
  return m;
}

/**
 * The rate-limit keys of a scope for the minute starting at `windowStart` and the one
 * before: [rpm now, rpm before, tpm now, tpm before]. Shared: do not modify.
 */
export function rateLimitKeys(scope: string, id: string, windowStart: number, o?: KeyOptions): readonly string[] {
  const m = keptFor(keptRateKeys, p(o));
  const e = m.get(id);
  if (e && e.at === windowStart && e.scope === scope) return e.keys;
  const keys = [rpmKey(scope, id, windowStart, o), rpmKey(scope, id, windowStart - 60, o), tpmKey(scope, id, windowStart, o), tpmKey(scope, id, windowStart - 60, o)];
  m.set(id, { scope, at: windowStart, keys });
  return keys;
}

/** The five keys of a budget period (spent, reserved, amounts, expiries, expired ids). Shared: do not modify. */
export function budgetPeriodKeys(budgetId: string, periodStartMs: number, o?: KeyOptions): readonly string[] {
  const m = keptFor(keptBudgetKeys, p(o));
  const e = m.get(budgetId);
  if (e && e.at === periodStartMs) return e.keys;
  const keys = [
    budgetSpentKey(budgetId, periodStartMs, o),
    budgetReservedKey(budgetId, periodStartMs, o),
    budgetReservationAmountsKey(budgetId, periodStartMs, o),
    budgetReservationExpiryKey(budgetId, periodStartMs, o),
    budgetExpiredReservationsKey(budgetId, periodStartMs, o),
  ];
  m.set(budgetId, { scope: "budget", at: periodStartMs, keys });
  return keys;
}
