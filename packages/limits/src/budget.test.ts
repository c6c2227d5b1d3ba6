import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { clients, testPrefix } from "../test/redis";
import { deleteKeysWithPrefix } from "./maintenance";
import { MAX_NANO_USD, raiseBudgetSpent, readBudget, reserveBudget, settleBudget, type BudgetRef } from "./budget";

let redis: Redis[];
const prefix = testPrefix();
let n = 0;
const USD = 1_000_000_000n;
const periodStart = new Date("2026-11-01T00:00:00Z");
const budget = (name: string, limitNanoUsd: bigint, hard = true): BudgetRef => ({
  id: `${name}-${++n}`,
  periodStart,
  limitNanoUsd,
  hard,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  redis = clients(4);
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis[0]!, prefix);
  await Promise.all(redis.map((r) => r.quit()));
});

describe("reserveBudget / settleBudget", () => {
  it("50 concurrent reservations against $1.00 never overshoot and settle to the exact sum of actual costs", async () => {
    const key = budget("key", 1n * USD);
    const team = budget("team", 100n * USD);
    const worstCase = 70_000_000n; // $0.07 each: at most 14 fit in $1.00
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => reserveBudget(redis[i % 4]!, [key, team], worstCase, { prefix })),
    );
    const granted = results.filter((r) => r.ok);
    expect(granted).toHaveLength(14);
    for (const d of results.filter((r) => !r.ok)) expect(d.ok === false && d.deniedBy.id).toBe(key.id);
    const mid = await readBudget(redis[0]!, key, { prefix });
    expect(mid).toEqual({ spentNanoUsd: 0n, reservedNanoUsd: 14n * worstCase });
    expect(mid.reservedNanoUsd).toBeLessThanOrEqual(key.limitNanoUsd);

    // actual costs differ per request, some above the reservation
    const actuals = granted.map((_, i) => 1_234_567n * BigInt(i + 1) + (i === 0 ? 80_000_000n : 0n));
    await Promise.all(
      granted.map((g, i) => (g.ok ? settleBudget(redis[i % 4]!, g, actuals[i]!, { prefix }) : Promise.resolve(false))),
    );
    const total = actuals.reduce((a, b) => a + b, 0n);
    expect(await readBudget(redis[1]!, key, { prefix })).toEqual({ spentNanoUsd: total, reservedNanoUsd: 0n });
    expect(await readBudget(redis[1]!, team, { prefix })).toEqual({ spentNanoUsd: total, reservedNanoUsd: 0n });
  });

  it("blocks on spent + reserved + amount > limit, naming the budget, with exact boundaries", async () => {
    const org = budget("org", 10n * USD);
    const key = budget("key", 1n * USD);
    const r = redis[0]!;
    const a = await reserveBudget(r, [org, key], 600_000_000n, { prefix });
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    // The reply says the least headroom left over the hard budgets (what leases are sized by).
    expect(a.freeNanoUsd).toBe(400_000_000n);
    expect(await settleBudget(r, a, 600_000_000n, { prefix })).toBe(true);
    // exactly up to the limit is allowed
    const b = await reserveBudget(r, [org, key], 400_000_000n, { prefix });
    expect(b.ok).toBe(true);
    expect(b.ok && b.freeNanoUsd).toBe(0n);
    const c = await reserveBudget(r, [org, key], 1n, { prefix });
    expect(c).toEqual({ ok: false, deniedBy: key, spentNanoUsd: 600_000_000n, reservedNanoUsd: 400_000_000n });
    // a denied reservation added nothing to the other budget
    expect(await readBudget(r, org, { prefix })).toEqual({ spentNanoUsd: 600_000_000n, reservedNanoUsd: 400_000_000n });
  });

  it("soft budgets never block but still count", async () => {
    const soft = budget("team", 1n * USD, false);
    const r = redis[1]!;
    for (let i = 0; i < 3; i++) {
      const res = await reserveBudget(r, [soft], 900_000_000n, { prefix });
      expect(res.ok).toBe(true);
      // No hard budget: no headroom to report.
      expect(res.ok && res.freeNanoUsd).toBeNull();
      if (res.ok) await settleBudget(r, res, 900_000_000n, { prefix });
    }
    expect(await readBudget(r, soft, { prefix })).toEqual({ spentNanoUsd: 2_700_000_000n, reservedNanoUsd: 0n });
  });

  it("settle is idempotent per reservation", async () => {
    const key = budget("key", 1n * USD);
    const r = redis[2]!;
    const res = await reserveBudget(r, [key], 500n, { prefix });
    if (!res.ok) throw new Error("expected a reservation");
    expect(await settleBudget(r, res, 300n, { prefix })).toBe(true);
    expect(await settleBudget(r, res, 300n, { prefix })).toBe(false);
    expect(await readBudget(r, key, { prefix })).toEqual({ spentNanoUsd: 300n, reservedNanoUsd: 0n });
    await expect(reserveBudget(r, [key], 1n, { prefix, reservationId: "dup" })).resolves.toMatchObject({ ok: true });
    await expect(reserveBudget(r, [key], 1n, { prefix, reservationId: "dup" })).rejects.toThrow(/already exists/);
  });

  it("an unsettled reservation expires and releases its money; a late settle still records the cost", async () => {
    const key = budget("key", 1n * USD);
    const r = redis[3]!;
    const held = await reserveBudget(r, [key], 1n * USD, { prefix, ttlMs: 300 });
    expect(held.ok).toBe(true);
    expect((await reserveBudget(r, [key], 1n, { prefix })).ok).toBe(false);
    await sleep(400);
    expect(await readBudget(r, key, { prefix })).toEqual({ spentNanoUsd: 0n, reservedNanoUsd: 0n });
    const after = await reserveBudget(r, [key], 1n, { prefix });
    expect(after.ok).toBe(true);
    if (held.ok) expect(await settleBudget(r, held, 250n, { prefix })).toBe(true);
    expect(await readBudget(r, key, { prefix })).toEqual({ spentNanoUsd: 250n, reservedNanoUsd: 1n });
    // A late settle counts once too, and an id that was never reserved settles nothing.
    if (held.ok) expect(await settleBudget(r, held, 250n, { prefix })).toBe(false);
    expect(await settleBudget(r, { reservationId: "never-reserved", budgets: [key] }, 99n, { prefix })).toBe(false);
    expect(await readBudget(r, key, { prefix })).toEqual({ spentNanoUsd: 250n, reservedNanoUsd: 1n });
    // No key per settled request is left behind.
    expect(await r.keys(`${prefix}budget:settled:*`)).toEqual([]);
  });

  it("an expired reservation nobody read since is released before a reserve that needs its money", async () => {
    const key = budget("key", 1n * USD);
    const r = redis[0]!;
    const held = await reserveBudget(r, [key], 1n * USD, { prefix, ttlMs: 300 });
    expect(held.ok).toBe(true);
    await sleep(400);
    // No read in between: the reserve itself must give the expired reservation back first.
    expect((await reserveBudget(r, [key], 600_000_000n, { prefix })).ok).toBe(true);
    // A refusal reports the budget as it is once expired reservations are gone.
    expect(await reserveBudget(r, [key], 500_000_000n, { prefix })).toEqual({ ok: false, deniedBy: key, spentNanoUsd: 0n, reservedNanoUsd: 600_000_000n });
    if (held.ok) expect(await settleBudget(r, held, 250n, { prefix })).toBe(true);
    expect(await readBudget(r, key, { prefix })).toEqual({ spentNanoUsd: 250n, reservedNanoUsd: 600_000_000n });
  });

  it("a reservation that expired and was never swept settles once, releasing its money", async () => {
    const key = budget("key", 1n * USD);
    const team = budget("team", 1n * USD, false);
    const r = redis[1]!;
    const held = await reserveBudget(r, [key, team], 500n, { prefix, ttlMs: 200 });
    if (!held.ok) throw new Error("expected a reservation");
    await sleep(300);
    expect(await settleBudget(r, held, 300n, { prefix })).toBe(true);
    expect(await settleBudget(r, held, 300n, { prefix })).toBe(false);
    expect(await readBudget(r, key, { prefix })).toEqual({ spentNanoUsd: 300n, reservedNanoUsd: 0n });
    expect(await readBudget(r, team, { prefix })).toEqual({ spentNanoUsd: 300n, reservedNanoUsd: 0n });
  });

  it("a duplicate id is refused when any budget holds it, and leaves nothing behind; an expired one is no duplicate", async () => {
    const a = budget("key", 1n * USD);
    const b = budget("team", 1n * USD);
    const r = redis[2]!;
    expect((await reserveBudget(r, [a], 100n, { prefix, reservationId: "twice", ttlMs: 300 })).ok).toBe(true);
    await expect(reserveBudget(r, [b, a], 100n, { prefix, reservationId: "twice" })).rejects.toThrow(/already exists/);
    expect(await readBudget(r, b, { prefix })).toEqual({ spentNanoUsd: 0n, reservedNanoUsd: 0n });
    expect((await reserveBudget(r, [b], 1n * USD, { prefix })).ok).toBe(true);
    await sleep(400);
    // Expired (and not yet swept) in a: the id may be reserved again, as with a swept one.
    const again = await reserveBudget(r, [a], 70n, { prefix, reservationId: "twice" });
    expect(again.ok).toBe(true);
    expect(await readBudget(r, a, { prefix })).toEqual({ spentNanoUsd: 0n, reservedNanoUsd: 70n });
  });

  it("separate periods are separate counters", async () => {
    const thisMonth = budget("key", 1n * USD);
    const nextMonth: BudgetRef = { ...thisMonth, periodStart: new Date("2026-12-01T00:00:00Z") };
    const r = redis[0]!;
    const a = await reserveBudget(r, [thisMonth], 1n * USD, { prefix });
    if (a.ok) await settleBudget(r, a, 1n * USD, { prefix });
    expect((await reserveBudget(r, [thisMonth], 1n, { prefix })).ok).toBe(false);
    expect((await reserveBudget(r, [nextMonth], 1n * USD, { prefix })).ok).toBe(true);
  });

  it("reconciliation raises spent to what Postgres recorded, never lowers it", async () => {
    const key = budget("key", 1n * USD);
    const r = redis[1]!;
    expect(await raiseBudgetSpent(r, key, 123n, { prefix })).toBe(123n);
    expect(await raiseBudgetSpent(r, key, 100n, { prefix })).toBe(123n);
    expect((await readBudget(r, key, { prefix })).spentNanoUsd).toBe(123n);
  });

  it("supports amounts up to 2^53-1 nano-USD exactly and rejects larger or negative ones", async () => {
    const big = budget("org", MAX_NANO_USD);
    const r = redis[2]!;
    const a = await reserveBudget(r, [big], MAX_NANO_USD - 1n, { prefix });
    if (!a.ok) throw new Error("expected a reservation");
    await settleBudget(r, a, MAX_NANO_USD - 1n, { prefix });
    expect((await reserveBudget(r, [big], 2n, { prefix })).ok).toBe(false);
    expect((await reserveBudget(r, [big], 1n, { prefix })).ok).toBe(true);
    expect(await readBudget(r, big, { prefix })).toEqual({ spentNanoUsd: MAX_NANO_USD - 1n, reservedNanoUsd: 1n });
    await expect(reserveBudget(r, [big], MAX_NANO_USD + 1n, { prefix })).rejects.toThrow(RangeError);
    await expect(reserveBudget(r, [big], -1n, { prefix })).rejects.toThrow(RangeError);
  });
});
