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
