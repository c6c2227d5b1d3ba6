import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { clients, testPrefix } from "../test/redis";
import { deleteKeysWithPrefix } from "./maintenance";
import { readBudget, reserveBudget, settleBudget, type BudgetRef, type ReserveResult } from "./budget";
import { rpmKey, tpmKey } from "./keys";
import { consumeRateLimit, type RateLimitResult, type RateLimitScope } from "./rate-limit";
import { admitLimits, settleLimits } from "./request";

let redis: Redis[];
const prefix = testPrefix();
let n = 0;
const id = (name: string) => `${name}-${++n}`;
const USD = 1_000_000_000n;
const periodStart = new Date("2026-11-01T00:00:00Z");
const budget = (limitNanoUsd: bigint, hard = true): BudgetRef => ({ id: id("budget"), periodStart, limitNanoUsd, hard });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

// A batch (the calls of one turn) runs as one script that remembers what it has read and
// written; each call in it must still answer exactly as the same call made on its own.
describe("a batch answers like the same calls one at a time", () => {
  it("rate limits: refusals by rpm and tpm in two scopes, requests on both sides of a minute's turn", async () => {
    const minute = Date.UTC(2026, 0, 1, 12, 1, 0);
    // Offsets from the turn of the minute (ms) and estimated tokens; some come in late-stamped.
    const requests: [number, number][] = [
      [-2_500, 300], [-1_200, 200], [-300, 1_200], [400, 250], [-100, 100], [900, 150], [1_300, 400],
      [1_300, 50], [2_100, 10], [-50, 80], [2_600, 300], [3_000, 10], [3_000, 10], [3_400, 200],
    ];
    const twins = (tag: string): RateLimitScope[] => [
      { scope: "key", id: id(`k${tag}`), rpm: 7, tpm: 100_000 },
      { scope: "team", id: id(`t${tag}`), rpm: 100, tpm: 1_500 },
    ];
    const batched = twins("b");
    const single = twins("s");
    const plain = (r: RateLimitResult, scopes: RateLimitScope[]) => ({ ...r, deniedBy: r.deniedBy && { ...r.deniedBy, id: scopes.findIndex((s) => s.id === r.deniedBy?.id) } });

    const inBatch = await Promise.all(
      requests.map(([offset, tokens]) =>
        admitLimits(redis[0]!, { scopes: batched, estimatedTokens: tokens, budgets: [], amountNanoUsd: 0n, reservationId: id("r"), nowMs: minute + offset }, { prefix }),
      ),
    );
    const oneByOne: RateLimitResult[] = [];
    for (const [offset, tokens] of requests) oneByOne.push(await consumeRateLimit(redis[1]!, single, { prefix, estimatedTokens: tokens, nowMs: minute + offset }));

    expect(inBatch.map((a) => plain(a.rate, batched))).toEqual(oneByOne.map((r) => plain(r, single)));
    // Both kinds of refusal happened, so the comparison covers them.
    expect(new Set(oneByOne.map((r) => r.deniedBy?.limit ?? "none"))).toEqual(new Set(["none", "rpm", "tpm"]));
    for (const [i, scope] of batched.entries()) {
      for (const start of [minute / 1000 - 60, minute / 1000]) {
        const other = single[i]!;
        expect(await redis[0]!.hgetall(tpmKey(scope.scope, scope.id, start, { prefix }))).toEqual(await redis[0]!.hgetall(tpmKey(other.scope, other.id, start, { prefix })));
        expect(await redis[0]!.hgetall(rpmKey(scope.scope, scope.id, start, { prefix }))).toEqual(await redis[0]!.hgetall(rpmKey(other.scope, other.id, start, { prefix })));
      }
    }
  });

  it("budgets: reserves near the limit with an expired reservation still held, then settles", async () => {
    const twins = () => [budget(1_000n), budget(10n, false)] as const;
    const batched = twins();
    const single = twins();
    for (const budgets of [batched, single]) {
      const spent = await reserveBudget(redis[0]!, budgets, 100n, { prefix });
      if (spent.ok) await settleBudget(redis[0]!, spent, 100n, { prefix });
      // Held until it expires, and nobody reads the budgets before the reserves below.
      expect((await reserveBudget(redis[0]!, budgets, 400n, { prefix, ttlMs: 200 })).ok).toBe(true);
    }
    await sleep(300);
    const amounts = [300n, 250n, 200n, 150n, 100n, 90n, 80n, 500n, 40n, 1n];
    const plain = (r: ReserveResult | null) =>
      r === null ? null : r.ok ? { ok: true } : { ok: false, deniedBy: r.deniedBy.limitNanoUsd, spent: r.spentNanoUsd, reserved: r.reservedNanoUsd };

    const inBatch = await Promise.all(
      amounts.map((amount) =>
        admitLimits(redis[0]!, { scopes: [], estimatedTokens: 0, budgets: batched, amountNanoUsd: amount, reservationId: id("r"), nowMs: Date.now() }, { prefix }),
      ),
    );
    const oneByOne: ReserveResult[] = [];
    for (const amount of amounts) oneByOne.push(await reserveBudget(redis[1]!, single, amount, { prefix }));
    expect(inBatch.map((a) => plain(a.reservation))).toEqual(oneByOne.map(plain));
    expect(oneByOne.filter((r) => !r.ok).length).toBeGreaterThan(0);
    expect(await readBudget(redis[2]!, batched[0], { prefix })).toEqual(await readBudget(redis[2]!, single[0], { prefix }));

    // Settle every granted reservation, twice each, in one batch and one at a time.
    const granted = (rs: (ReserveResult | null)[]) => rs.flatMap((r) => (r?.ok ? [r] : []));
    const settledInBatch = await Promise.all(
      [...granted(inBatch.map((a) => a.reservation)), ...granted(inBatch.map((a) => a.reservation))].map((g, i) =>
        settleLimits(redis[0]!, { reservation: g, actualNanoUsd: BigInt(10 + i), tpmScopes: [], tokenDelta: 0 }, { prefix }),
      ),
    );
    const settledOneByOne: boolean[] = [];
    for (const [i, g] of [...granted(oneByOne), ...granted(oneByOne)].entries()) settledOneByOne.push(await settleBudget(redis[1]!, g, BigInt(10 + i), { prefix }));
    expect(settledInBatch).toEqual(settledOneByOne);
    for (const i of [0, 1] as const) {
      expect(await readBudget(redis[2]!, batched[i], { prefix })).toEqual(await readBudget(redis[2]!, single[i], { prefix }));
    }
  });
});
