import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { clients, testPrefix } from "../test/redis";
import { deleteKeysWithPrefix } from "./maintenance";
import { raiseBudgetSpent, readBudget, reserveBudget, settleBudget, type BudgetRef } from "./budget";
import { budgetReservationAmountsKey, budgetReservedKey, tpmKey } from "./keys";
import { consumeRateLimit, correctTokens, type RateLimitScope } from "./rate-limit";
import { admitLimits, settleLimits } from "./request";

// The scripts set a key's TTL when they (re)create it, not on every write: this walks every
// path that creates a key and then requires a TTL on every key under the test's prefix.
let redis: Redis;
const prefix = testPrefix();
const periodStart = new Date("2026-11-01T00:00:00Z");
let n = 0;
const budget = (limitNanoUsd: bigint, hard = true): BudgetRef => ({ id: `b-${++n}`, periodStart, limitNanoUsd, hard });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function keysWithPrefix(r: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys.sort();
}

beforeAll(() => {
  [redis] = clients(1) as [Redis];
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

describe("key lifetimes", () => {
  it("after reserve/settle/expire cycles, rate limits and reads, every key the scripts wrote has a TTL", async () => {
    const r = redis;
    const o = { prefix };
    const a = budget(1_000_000n);
    const b = budget(1_000_000n, false);

    // Reserve and settle in cycles: each settle empties the amounts hash and expiry zset
    // (Redis deletes them), each next reserve creates them again.
    for (let cycle = 0; cycle < 3; cycle++) {
      const res = await reserveBudget(r, [a, b], 100n, o);
      if (!res.ok) throw new Error("expected a reservation");
      expect(await settleBudget(r, res, 60n, o)).toBe(true);
      expect(await r.exists(budgetReservationAmountsKey(a.id, periodStart.getTime(), o))).toBe(0);
    }
    // Unpriced requests reserve 0: the collections hold entries while `reserved` stays 0.
    const zero = await reserveBudget(r, [a], 0n, o);
    // Expiry: a reservation left unsettled is swept by a read (into the set of expired
    // ids), then settled late; another is left to expire for the next reserve to sweep.
    const lost = await reserveBudget(r, [a, b], 200n, { ...o, ttlMs: 100 });
    const lost2 = await reserveBudget(r, [b], 300n, { ...o, ttlMs: 100 });
    await sleep(150);
    expect(await readBudget(r, a, o)).toEqual({ spentNanoUsd: 180n, reservedNanoUsd: 0n });
    if (!lost.ok || !lost2.ok || !zero.ok) throw new Error("expected reservations");
    expect(await settleBudget(r, lost, 150n, o)).toBe(true);
    const full = budget(500n);
    expect((await reserveBudget(r, [full, b], 500n, o)).ok).toBe(true);
    // A refused reserve sweeps the budgets first (b's expired reservation goes to its set).
    expect((await reserveBudget(r, [full, b], 1n, o)).ok).toBe(false);
    // A duplicate id found on the second budget undoes what the first got.
    const c = budget(1_000n);
    expect((await reserveBudget(r, [a], 5n, { ...o, reservationId: "dup" })).ok).toBe(true);
    await expect(reserveBudget(r, [c, a], 5n, { ...o, reservationId: "dup" })).rejects.toThrow(/already exists/);
    expect(await readBudget(r, c, o)).toEqual({ spentNanoUsd: 0n, reservedNanoUsd: 0n });
    // Reconciliation creates spent of a period nobody reserved on.
    await raiseBudgetSpent(r, budget(1n), 42n, o);
    // A reserved counter lost (evicted) before its settle comes back with a TTL too.
    const d = budget(1_000n);
    const held = await reserveBudget(r, [d], 10n, o);
    if (!held.ok) throw new Error("expected a reservation");
    await r.del(budgetReservedKey(d.id, periodStart.getTime(), o));
    expect(await settleBudget(r, held, 10n, o)).toBe(true);
    // One reservation stays live, so its collections exist at the end.
    expect((await reserveBudget(r, [a, b], 7n, o)).ok).toBe(true);

    // Rate limits: consume (alone and with a budget that refuses, which gives the tokens
    // back), a correction, and a negative correction that creates a minute's hash.
    const nowMs = Date.now();
    const scope: RateLimitScope = { scope: "key", id: "k", rpm: 100, tpm: 100_000 };
    expect((await consumeRateLimit(r, [scope], { ...o, estimatedTokens: 10, nowMs })).allowed).toBe(true);
    const refused = await admitLimits(r, { scopes: [scope], estimatedTokens: 20, budgets: [full], amountNanoUsd: 1n, reservationId: "refused", nowMs }, o);
    expect(refused.reservation?.ok).toBe(false);
    await correctTokens(r, [scope], 5, { ...o, nowMs });
    await correctTokens(r, [scope], -50, { ...o, nowMs: nowMs + 120_000 });
    expect(Number(await r.hget(tpmKey("key", "k", Math.floor(nowMs / 60_000) * 60 + 120, o), "t"))).toBe(-50);
    // The combined scripts: admit then settle.
    const e = budget(1_000_000n);
    const admitted = await admitLimits(r, { scopes: [{ scope: "team", id: "t", rpm: 10, tpm: 1_000 }], estimatedTokens: 30, budgets: [e], amountNanoUsd: 99n, reservationId: "r-1", nowMs }, o);
    if (admitted.reservation?.ok !== true) throw new Error("expected a reservation");
    expect(await settleLimits(r, { reservation: admitted.reservation, actualNanoUsd: 50n, tpmScopes: [{ scope: "team", id: "t", tpm: 1_000 }], tokenDelta: -10, nowMs }, o)).toBe(true);

    const keys = await keysWithPrefix(r);
    // Every kind of key was made (so the check below covers them all) …
    const kind = (k: string) => (k.includes(":from:") ? "from" : (/:rl:(rpm|tpm):/.exec(k)?.[1] ?? /:([a-z-]+)$/.exec(k)?.[1]));
    const kinds = new Set(keys.map(kind));
    expect([...kinds].sort()).toEqual(["from", "reserved", "resv", "resv-exp", "resv-expired", "rpm", "spent", "tpm"].sort());
    // … and every one of them expires.
    const pttls = await Promise.all(keys.map(async (k) => [k, await r.pttl(k)] as const));
    expect(pttls.filter(([, ttl]) => ttl <= 0)).toEqual([]);
  });
});
