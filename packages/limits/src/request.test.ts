import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { clients, testPrefix } from "../test/redis";
import { deleteKeysWithPrefix } from "./maintenance";
import { readBudget, type BudgetRef } from "./budget";
import { rpmKey, tpmKey } from "./keys";
import { consumeRateLimit, type RateLimitScope } from "./rate-limit";
import { admitLimits, settleLimits } from "./request";

let redis: Redis[];
const prefix = testPrefix();
let n = 0;
const id = (name: string) => `${name}-${++n}`;
const USD = 1_000_000_000n;
const periodStart = new Date("2026-11-01T00:00:00Z");
const budget = (limitNanoUsd: bigint, hard = true): BudgetRef => ({ id: id("budget"), periodStart, limitNanoUsd, hard });

/** Sum of a scope's window hash for the minute of `nowMs`. */
async function windowSum(r: Redis, kind: "rpm" | "tpm", scope: RateLimitScope, nowMs: number): Promise<number> {
  const sec = Math.floor(nowMs / 1000);
  const key = (kind === "rpm" ? rpmKey : tpmKey)(scope.scope, scope.id, sec - (sec % 60), { prefix });
  const flat = await r.hgetall(key);
  const buckets = Object.entries(flat).filter(([field]) => field !== "t");
  const sum = buckets.reduce((a, [, v]) => a + Number(v), 0);
  // The minute's running sum must match its buckets.
  expect(Number(flat.t ?? 0)).toBe(sum);
  return sum;
}

beforeAll(() => {
  redis = clients(4);
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis[0]!, prefix);
  await Promise.all(redis.map((r) => r.quit()));
});

describe("admitLimits: rate limits and budget in one script", () => {
  it("of 200 concurrent requests, 60 pass the rpm limit and only 14 of those fit the budget; counters exact", async () => {
    const nowMs = Date.now();
    const scope: RateLimitScope = { scope: "key", id: id("k"), rpm: 60, tpm: 1_000_000 };
    const b = budget(1n * USD);
    const amount = 70_000_000n; // $0.07: 14 fit in $1.00
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        admitLimits(redis[i % 4]!, { scopes: [scope], estimatedTokens: 100, budgets: [b], amountNanoUsd: amount, reservationId: id("r"), nowMs }, { prefix }),
      ),
    );
    const rateOk = results.filter((r) => r.rate.allowed);
    expect(rateOk).toHaveLength(60);
    // Refused by the rate limit: no reservation was even tried.
    for (const r of results.filter((x) => !x.rate.allowed)) expect(r.reservation).toBeNull();
    const reserved = rateOk.filter((r) => r.reservation?.ok === true);
    const refused = rateOk.filter((r) => r.reservation?.ok === false);
    expect(reserved).toHaveLength(14);
    expect(refused).toHaveLength(46);
    for (const r of refused) expect(r.reservation?.ok === false && r.reservation.deniedBy.id).toBe(b.id);
    expect(await readBudget(redis[0]!, b, { prefix })).toEqual({ spentNanoUsd: 0n, reservedNanoUsd: 14n * amount });
    // Every rate-admitted request counts for RPM; only the 14 that went ahead keep their tokens.
    expect(await windowSum(redis[1]!, "rpm", scope, nowMs)).toBe(60);
    expect(await windowSum(redis[1]!, "tpm", scope, nowMs)).toBe(14 * 100);
  });

  it("answers like consumeRateLimit and reserves nothing when there is no budget; nothing at all with neither", async () => {
    const nowMs = Date.now();
    const scope: RateLimitScope = { scope: "team", id: id("t"), rpm: 2 };
    const a = await admitLimits(redis[0]!, { scopes: [scope], estimatedTokens: 0, budgets: [], amountNanoUsd: 0n, reservationId: id("r"), nowMs }, { prefix });
    expect(a).toEqual({ rate: { allowed: true, retryAfterSeconds: 0, remainingRequests: 1, resetRequestsSeconds: expect.any(Number) as number, remainingTokens: null, resetTokensSeconds: null }, reservation: null });
    const plain = await consumeRateLimit(redis[0]!, [scope], { prefix, nowMs });
    expect(plain.remainingRequests).toBe(0);
    const c = await admitLimits(redis[0]!, { scopes: [scope], estimatedTokens: 0, budgets: [], amountNanoUsd: 0n, reservationId: id("r"), nowMs }, { prefix });
    expect(c.rate).toMatchObject({ allowed: false, deniedBy: { scope: "team", id: scope.id, limit: "rpm" } });

    const none = await admitLimits(redis[0]!, { scopes: [], estimatedTokens: 5, budgets: [], amountNanoUsd: 0n, reservationId: id("r") }, { prefix });
    expect(none).toEqual({ rate: expect.objectContaining({ allowed: true }) as unknown, reservation: null });
  });

  it("with budgets only, reserves and refuses exactly like reserveBudget", async () => {
    const soft = budget(1n, false);
    const hard = budget(100n);
    const ok = await admitLimits(redis[0]!, { scopes: [], estimatedTokens: 0, budgets: [soft, hard], amountNanoUsd: 60n, reservationId: id("r") }, { prefix });
    expect(ok.reservation).toMatchObject({ ok: true, budgets: [{ id: soft.id }, { id: hard.id }] });
    const no = await admitLimits(redis[0]!, { scopes: [], estimatedTokens: 0, budgets: [soft, hard], amountNanoUsd: 60n, reservationId: id("r") }, { prefix });
    expect(no.reservation).toEqual({ ok: false, deniedBy: hard, spentNanoUsd: 0n, reservedNanoUsd: 60n });
  });
});

describe("settleLimits: settle and TPM correction in one script", () => {
  it("settles the reservation once and corrects the TPM estimate to the actual tokens", async () => {
    const nowMs = Date.now();
    const scope: RateLimitScope = { scope: "key", id: id("k"), tpm: 10_000 };
    const b = budget(10n * USD);
    const rid = id("r");
    const a = await admitLimits(redis[0]!, { scopes: [scope], estimatedTokens: 500, budgets: [b], amountNanoUsd: 2n * USD, reservationId: rid, nowMs }, { prefix });
    expect(a.reservation?.ok).toBe(true);
    if (!a.reservation?.ok) return;
    expect(await windowSum(redis[0]!, "tpm", scope, nowMs)).toBe(500);

    const input = { reservation: a.reservation, actualNanoUsd: 123_456n, tpmScopes: [scope], tokenDelta: 321 - 500, nowMs };
    expect(await settleLimits(redis[1]!, input, { prefix })).toBe(true);
    expect(await readBudget(redis[0]!, b, { prefix })).toEqual({ spentNanoUsd: 123_456n, reservedNanoUsd: 0n });
    expect(await windowSum(redis[0]!, "tpm", scope, nowMs)).toBe(321);

    // A second settle of the same reservation changes no money.
    expect(await settleLimits(redis[2]!, { ...input, tpmScopes: [], tokenDelta: 0 }, { prefix })).toBe(false);
    expect(await readBudget(redis[0]!, b, { prefix })).toEqual({ spentNanoUsd: 123_456n, reservedNanoUsd: 0n });
  });

  it("corrects tokens alone when there is no reservation, and does nothing when there is nothing to do", async () => {
    const nowMs = Date.now();
    const scope: RateLimitScope = { scope: "team", id: id("t"), tpm: 10_000 };
    expect(await settleLimits(redis[0]!, { reservation: null, actualNanoUsd: 0n, tpmScopes: [scope], tokenDelta: 42, nowMs }, { prefix })).toBe(true);
    expect(await windowSum(redis[0]!, "tpm", scope, nowMs)).toBe(42);
    expect(await settleLimits(redis[0]!, { reservation: null, actualNanoUsd: 0n, tpmScopes: [scope], tokenDelta: 0, nowMs }, { prefix })).toBe(true);
    expect(await windowSum(redis[0]!, "tpm", scope, nowMs)).toBe(42);
  });
});
