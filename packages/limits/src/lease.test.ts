import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Redis } from "ioredis";
import { clients, testPrefix } from "../test/redis";
import { readBudget, type BudgetRef } from "./budget";
import { type LeaseDemand, type LeaseTicket, LimitLeases } from "./lease";
import { deleteKeysWithPrefix, requestsCounted, tokensCounted } from "./maintenance";
import type { RateLimitScope } from "./rate-limit";
import { admitLimits, settleLimits } from "./request";
import type { LimitsRedis } from "./script";

let redis: Redis[];
const prefix = testPrefix();
let n = 0;
const periodStart = new Date("2026-11-01T00:00:00Z");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SIGNATURE = {};

beforeAll(() => {
  redis = clients(3);
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis[0]!, prefix);
  await Promise.all(redis.map((r) => r.quit()));
});

/** One replica: its leases, the background calls they made (to wait on), and a request's whole path as the proxy takes it. */
function replica(client: LimitsRedis) {
  const pending = new Set<Promise<unknown>>();
  const leases = new LimitLeases(client, {
    prefix,
    track: (_op, p) => {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
  });
  let exact = 0;
  /** Admits one request: through a lease when it can, else on its own. Returns how it settles, or null when refused. */
  async function admit(holder: string, d: LeaseDemand): Promise<((actual: bigint, tokenDelta: number) => void) | null> {
    let ticket: LeaseTicket | null = leases.take(holder, SIGNATURE, d);
    if (!ticket) {
      const size = leases.size(holder, SIGNATURE, d);
      if (size > 1) ticket = await leases.acquire(holder, SIGNATURE, d, size);
    }
    if (ticket) {
      const t = ticket;
      return (actual, tokenDelta) => leases.finish(t, actual, tokenDelta);
    }
    exact++;
    const id = `req-${++n}`;
    const r = await admitLimits(client, { scopes: d.scopes, budgets: d.budgets, estimatedTokens: d.estimatedTokens, amountNanoUsd: d.amountNanoUsd, reservationId: id, nowMs: d.nowMs }, { prefix });
    leases.learn(holder, SIGNATURE, r);
    if (!r.rate.allowed || (r.reservation && !r.reservation.ok)) return null;
    const reservation = r.reservation?.ok ? { reservationId: id, budgets: r.reservation.budgets } : null;
    const tpmScopes = d.scopes.filter((s) => s.tpm != null);
    return (actual, tokenDelta) => {
      const p = settleLimits(client, { reservation, actualNanoUsd: actual, tpmScopes, tokenDelta }, { prefix });
      pending.add(p);
      void p.finally(() => pending.delete(p));
    };
  }
  async function idle() {
    while (pending.size > 0) await Promise.all([...pending]);
  }
  return { leases, admit, idle, exact: () => exact };
}

function world(rpm: number | null, tpm: number | null, budgetLimit: bigint) {
  const id = `k${++n}`;
  const teamId = `t${n}`;
  const scopes: RateLimitScope[] = [
    { scope: "key", id, rpm, tpm },
    { scope: "team", id: teamId, rpm: rpm === null ? null : rpm * 10, tpm: tpm === null ? null : tpm * 10 },
  ];
  const budgets: BudgetRef[] = [
    { id: `b-key-${n}`, periodStart, limitNanoUsd: budgetLimit, hard: true },
    { id: `b-org-${n}`, periodStart, limitNanoUsd: 1n, hard: false },
  ];
  const demand = (estimatedTokens = 10, amountNanoUsd = 1_000n): LeaseDemand => ({ scopes, budgets, estimatedTokens, amountNanoUsd, nowMs: Date.now() });
  return { id, teamId, scopes, budgets, demand };
}

/** Waits until the current second has at least `ms` left, so that a burst stays in one second. */
async function startOfSecond(ms = 600) {
  const left = 1000 - (Date.now() % 1000);
  if (left < ms) await sleep(left + 5);
}

describe("LimitLeases", () => {
  it("admits a busy key's requests with a round trip per lease, not per request, and the totals come out exact", async () => {
    // Each limits batch is one command.
    const sendCommand = vi.spyOn(redis[0]!, "sendCommand");
    const r = replica(redis[0]!);
    const w = world(100_000, 10_000_000, 1_000_000_000_000n);
    await startOfSecond(800);
    let spent = 0n;
    let tokens = 0;
    for (let i = 0; i < 300; i++) {
      const settle = await r.admit(w.id, w.demand());
      expect(settle).not.toBeNull();
      // Each request costs a little less than its worst case and uses 5 tokens more than estimated.
      const actual = 900n + BigInt(i % 7);
      spent += actual;
      tokens += 15;
      settle!(actual, 5);
    }
    // The first request goes on its own; the rest ask for leases that double: 2, 4, ..., 256.
    expect(r.exact()).toBe(1);
    expect(sendCommand.mock.calls.length).toBeLessThan(20);
    sendCommand.mockRestore();
    r.leases.retireAll();
    await r.idle();
    expect(await requestsCounted(redis[1]!, "key", w.id, { prefix })).toBe(300);
    expect(await requestsCounted(redis[1]!, "team", w.teamId, { prefix })).toBe(300);
    expect(await tokensCounted(redis[1]!, "key", w.id, { prefix })).toBe(tokens);
    expect(await readBudget(redis[1]!, w.budgets[0]!, { prefix })).toEqual({ spentNanoUsd: spent, reservedNanoUsd: 0n });
    expect(await readBudget(redis[1]!, w.budgets[1]!, { prefix })).toEqual({ spentNanoUsd: spent, reservedNanoUsd: 0n });
  });

  it("serves a lease only in its own second, and hands back what it did not use when the second ends", async () => {
    const r = replica(redis[0]!);
    const w = world(100_000, null, 1_000_000_000_000n);
    await startOfSecond(800);
    for (let i = 0; i < 20; i++) (await r.admit(w.id, w.demand()))!(1_000n, 0);
    // 1 on its own, then leases of 2, 4, 8 and 16: the last holds 16 - 5 unused.
    const d = w.demand();
    expect(r.leases.take(w.id, SIGNATURE, { ...d, nowMs: Math.floor(d.nowMs / 1000) * 1000 + 1000 })).toBeNull();
    await r.idle();
    expect(await requestsCounted(redis[1]!, "key", w.id, { prefix })).toBe(20);
    expect(await readBudget(redis[1]!, w.budgets[0]!, { prefix })).toEqual({ spentNanoUsd: 20_000n, reservedNanoUsd: 0n });

    // A lease nobody uses again is handed back by its timer, a few ms after its second.
    const w2 = world(100_000, null, 1_000_000_000_000n);
    await startOfSecond(800);
    for (let i = 0; i < 4; i++) (await r.admit(w2.id, w2.demand()))!(1_000n, 0);
    expect(await requestsCounted(redis[1]!, "key", w2.id, { prefix })).toBeGreaterThan(4);
    await sleep(1000 - (Date.now() % 1000) + 50);
    await r.idle();
    expect(await requestsCounted(redis[1]!, "key", w2.id, { prefix })).toBe(4);
    expect(await readBudget(redis[1]!, w2.budgets[0]!, { prefix })).toEqual({ spentNanoUsd: 4_000n, reservedNanoUsd: 0n });
  });

  it("a finished request's cost reaches Redis when its lease retires, not when the lease's last request ends", async () => {
    const r = replica(redis[0]!);
    const w = world(null, null, 1_000_000_000_000n);
    await startOfSecond(800);
    // On its own, then a lease of 2 used up by two quick requests.
    for (let i = 0; i < 3; i++) (await r.admit(w.id, w.demand(0, 5_000n)))!(1_000n, 0);
    // A lease of 4: one request finishes before the lease retires, two run on (one of them a long stream).
    const quick = (await r.admit(w.id, w.demand(0, 5_000n)))!;
    const later = (await r.admit(w.id, w.demand(0, 5_000n)))!;
    const long = (await r.admit(w.id, w.demand(0, 5_000n)))!;
    expect(r.exact()).toBe(1);
    quick(2_000n, 0);
    r.leases.retireAll();
    await r.idle();
    const budget = () => readBudget(redis[1]!, w.budgets[0]!, { prefix });
    // Spent: all that finished; held: the worst cases of the two running, nothing more.
    expect(await budget()).toEqual({ spentNanoUsd: 5_000n, reservedNanoUsd: 10_000n });
    // One of them finishes: its cost is spent now, not when the long one ends.
    later(3_000n, 0);
    await r.idle();
    expect(await budget()).toEqual({ spentNanoUsd: 8_000n, reservedNanoUsd: 5_000n });
    long(4_000n, 0);
    await r.idle();
    expect(await budget()).toEqual({ spentNanoUsd: 12_000n, reservedNanoUsd: 0n });
    expect(await readBudget(redis[1]!, w.budgets[1]!, { prefix })).toEqual({ spentNanoUsd: 12_000n, reservedNanoUsd: 0n });
  });

  it("three replicas never admit more than a limit, and near it every request is decided by Redis", async () => {
    const replicas = [replica(redis[0]!), replica(redis[1]!), replica(redis[2]!)];
    const w = world(1_000, null, 1_000_000_000_000n);
    await startOfSecond(900);
    // 1,500 requests, 50 at a time on each replica, in one second.
    let admitted = 0;
    let refused = 0;
    await Promise.all(
      replicas.map(async (r) => {
        for (let round = 0; round < 10; round++) {
          const settles = await Promise.all(Array.from({ length: 50 }, () => r.admit(w.id, w.demand())));
          for (const s of settles) {
            if (s) {
              admitted++;
              s(1_000n, 0);
            } else refused++;
          }
        }
      }),
    );
    expect(admitted + refused).toBe(1_500);
    expect(admitted).toBeLessThanOrEqual(1_000);
    // Leases are at most 1/64 of what is left, so what they hold back at the end is small.
    expect(admitted).toBeGreaterThan(950);
    for (const r of replicas) r.leases.retireAll();
    await Promise.all(replicas.map((r) => r.idle()));
    expect(await requestsCounted(redis[0]!, "key", w.id, { prefix })).toBe(admitted);
    expect(await readBudget(redis[0]!, w.budgets[0]!, { prefix })).toEqual({ spentNanoUsd: BigInt(admitted) * 1_000n, reservedNanoUsd: 0n });
    // Refusals came from Redis, and near the limit requests went on their own.
    expect(replicas.reduce((a, r) => a + r.exact(), 0)).toBeGreaterThan(refused);
  });

  it("a budget near its limit is decided request by request, and a lease refused by a budget counts nothing", async () => {
    const r = replica(redis[0]!);
    // Room for 100 worst cases: a lease may take at most 100/64, i.e. none.
    const w = world(100_000, 10_000_000, 100_000n);
    await startOfSecond(800);
    for (let i = 0; i < 10; i++) (await r.admit(w.id, w.demand(10, 1_000n)))!(1_000n, 0);
    expect(r.exact()).toBe(10);

    // A lease asked for with stale headroom (as if another replica spent it meanwhile) is refused whole.
    const w2 = world(100_000, 10_000_000, 1_000_000n);
    (await r.admit(w2.id, w2.demand(10, 1_000n)))!(1_000n, 0);
    const other = await admitLimits(redis[1]!, { scopes: [], budgets: w2.budgets, estimatedTokens: 0, amountNanoUsd: 998_500n, reservationId: `other-${n}` }, { prefix });
    expect(other.reservation?.ok).toBe(true);
    const before = await requestsCounted(redis[1]!, "key", w2.id, { prefix });
    const tokensBefore = await tokensCounted(redis[1]!, "key", w2.id, { prefix });
    const d = w2.demand(10, 1_000n);
    expect(r.leases.size(w2.id, SIGNATURE, d)).toBeGreaterThan(1);
    expect(await r.leases.acquire(w2.id, SIGNATURE, d, r.leases.size(w2.id, SIGNATURE, d))).toBeNull();
    expect(await requestsCounted(redis[1]!, "key", w2.id, { prefix })).toBe(before);
    expect(await tokensCounted(redis[1]!, "key", w2.id, { prefix })).toBe(tokensBefore);
    // After a refusal the next request goes on its own: 500 nano-USD left fits none of 1,000.
    expect(r.leases.size(w2.id, SIGNATURE, d)).toBe(1);
    await r.idle();
  });
});
