import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  healthBucketKey,
  healthCircuitKey,
  keyCooldownKey,
  readHealthReport,
  setKeyCooldown,
  syncHealth,
  transitionCircuits,
  windowBucketStarts,
} from "../src/health";
import { deleteKeysWithPrefix } from "../src/maintenance";
import { testPrefix } from "./redis";

// SWITCHYARD_TEST_REDIS_URL lets a developer run this suite against a Redis of its own; keys live under a random prefix.
const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const [a, b] = [new Redis(REDIS_URL), new Redis(REDIS_URL)] as [Redis, Redis];
const prefixes: string[] = [];
let prefix = "";

// a bucket boundary, so the arithmetic below is easy to follow
const T0 = 1_800_000_000_000;

beforeEach(() => {
  prefix = testPrefix();
  prefixes.push(prefix);
});

afterAll(async () => {
  for (const p of prefixes) await deleteKeysWithPrefix(a, p);
  a.disconnect();
  b.disconnect();
});

const delta = (target: string, bucketStartMs: number, ok: number, errors: number, latencySumMs = 0, latencyCount = 0) => ({
  target,
  bucketStartMs,
  ok,
  errors,
  latencySumMs,
  latencyCount,
});

describe("window counters", () => {
  it("sums every replica's deltas over the window and forgets buckets that left it", async () => {
    await syncHealth(a, prefix, { deltas: [delta("gpt", T0 - 130_000, 0, 50), delta("gpt", T0, 8, 1, 800, 8)], targets: [], nowMs: T0 });
    // a time inside the bucket counts toward that bucket
    const r = await syncHealth(b, prefix, { deltas: [delta("gpt", T0 + 5_000, 2, 3, 400, 2)], targets: ["gpt", "other"], nowMs: T0 + 5_000 });

    const window = r.windows.get("gpt")!;
    expect(window).toHaveLength(12);
    expect(window.at(-1)).toEqual({ startMs: T0, ok: 10, errors: 4, latencySumMs: 1200, latencyCount: 10 });
    // the bucket 130 s back is outside the 120 s window: its 50 errors do not count
    expect(window.reduce((n, x) => n + x.errors, 0)).toBe(4);
    expect(r.windows.get("other")!.every((x) => x.ok === 0 && x.errors === 0)).toBe(true);
    expect(r.circuits.get("gpt")).toEqual({ state: "closed", openUntil: null, changedAt: null, streak: 0 });
  });

  it("expires bucket keys once they are out of the window", async () => {
    await syncHealth(a, prefix, { deltas: [delta("gpt", T0, 1, 0)], targets: [], nowMs: T0 + 1_000 });
    const ttl = await a.pttl(healthBucketKey(prefix, "gpt", T0));
    expect(ttl).toBeGreaterThan(120_000);
    expect(ttl).toBeLessThanOrEqual(139_000);
  });

  it("lists the window's buckets oldest first, the current one last", () => {
    expect(windowBucketStarts(T0 + 9_999, 30_000, 10_000)).toEqual([T0 - 20_000, T0 - 10_000, T0]);
  });
});

describe("circuit transitions", () => {
  const opts = { openMs: 30_000, maxOpenMs: 100_000 };

  it("lets exactly one of two racing replicas open the circuit; both end up agreeing", async () => {
    const [ra, rb] = await Promise.all([
      transitionCircuits(a, prefix, [{ target: "gpt", from: ["closed"], to: "open" }], { ...opts, nowMs: T0 }),
      transitionCircuits(b, prefix, [{ target: "gpt", from: ["closed"], to: "open" }], { ...opts, nowMs: T0 + 5 }),
    ]);
    expect([ra[0]!.applied, rb[0]!.applied].filter(Boolean)).toHaveLength(1);
    expect(ra[0]!.circuit).toEqual(rb[0]!.circuit);
    expect(ra[0]!.circuit.state).toBe("open");
    expect(ra[0]!.circuit.streak).toBe(0);
  });

  it("goes half-open only after the open period, and each re-open doubles it up to the cap", async () => {
    const tr = (from: ("closed" | "open" | "half-open" | "recovering")[], to: "closed" | "open" | "half-open" | "recovering", nowMs: number, minAgeMs?: number) =>
      transitionCircuits(a, prefix, [{ target: "gpt", from, to, ...(minAgeMs ? { minAgeMs } : {}) }], { ...opts, nowMs }).then((r) => r[0]!);

    expect((await tr(["closed"], "open", T0)).circuit.openUntil).toBe(T0 + 30_000);
    expect((await tr(["open"], "half-open", T0 + 29_999)).applied).toBe(false);
    expect((await tr(["open"], "half-open", T0 + 30_000)).circuit.state).toBe("half-open");
    // failed probe: second open lasts 60 s
    let r = await tr(["half-open"], "open", T0 + 31_000);
    expect(r.circuit).toEqual({ state: "open", openUntil: T0 + 91_000, changedAt: T0 + 31_000, streak: 1 });
    await tr(["open"], "half-open", T0 + 91_000);
    r = await tr(["half-open"], "open", T0 + 92_000);
    expect(r.circuit.openUntil).toBe(T0 + 92_000 + 100_000); // 120 s capped at 100 s

    // a good probe, then the ramp; closing is refused before the ramp is over
    await tr(["open"], "half-open", T0 + 200_000);
    expect((await tr(["half-open"], "recovering", T0 + 200_500)).circuit.state).toBe("recovering");
    expect((await tr(["recovering"], "closed", T0 + 259_000, 60_000)).applied).toBe(false);
    r = await tr(["recovering"], "closed", T0 + 260_500, 60_000);
    expect(r.circuit).toEqual({ state: "closed", openUntil: null, changedAt: T0 + 260_500, streak: 0 });
    // closed resets the backoff
    expect((await tr(["closed"], "open", T0 + 300_000)).circuit.openUntil).toBe(T0 + 330_000);
    expect(await a.pttl(healthCircuitKey(prefix, "gpt"))).toBeGreaterThan(0);
  });

  it("refuses a transition from a state the circuit is not in and reports the actual one", async () => {
    const [r] = await transitionCircuits(a, prefix, [{ target: "gpt", from: ["half-open"], to: "recovering" }], { ...opts, nowMs: T0 });
    expect(r).toEqual({ target: "gpt", applied: false, circuit: { state: "closed", openUntil: null, changedAt: null, streak: 0 } });
  });
});

describe("key cooldowns", () => {
  it("shares cooldowns through one read, keeps the longer one and drops expired ones", async () => {
    expect(await setKeyCooldown(a, prefix, "key-1", T0 + 10_000, T0)).toBe(T0 + 10_000);
    expect(await setKeyCooldown(b, prefix, "key-1", T0 + 5_000, T0)).toBe(T0 + 10_000);
    await setKeyCooldown(b, prefix, "key-2", T0 + 2_000, T0);
    const pttl = await a.pttl(keyCooldownKey(prefix, "key-1"));
    expect(pttl).toBeGreaterThan(9_000);
    expect(pttl).toBeLessThanOrEqual(10_000);

    const now = await syncHealth(b, prefix, { deltas: [], targets: [], nowMs: T0 + 1_000 });
    expect(Object.fromEntries(now.cooldowns)).toEqual({ "key-1": T0 + 10_000, "key-2": T0 + 2_000 });
    const later = await syncHealth(b, prefix, { deltas: [], targets: [], nowMs: T0 + 3_000 });
    expect(Object.fromEntries(later.cooldowns)).toEqual({ "key-1": T0 + 10_000 });
  });
});

describe("readHealthReport", () => {
  it("reports each target's state, window counts, error rate and mean latency", async () => {
    await syncHealth(a, prefix, { deltas: [delta("gpt", T0, 18, 2, 3_600, 18), delta("claude", T0, 0, 12)], targets: [], nowMs: T0 });
    await transitionCircuits(a, prefix, [{ target: "claude", from: ["closed"], to: "open" }], { nowMs: T0 + 1_000, openMs: 30_000 });

    const rows = await readHealthReport(b, prefix, ["gpt", "claude", "idle"], { nowMs: T0 + 2_000 });
    expect(rows).toEqual([
      { target: "gpt", state: "closed", requests: 20, errors: 2, errorRate: 0.1, avgLatencyMs: 200, openUntil: null, changedAt: null },
      { target: "claude", state: "open", requests: 12, errors: 12, errorRate: 1, avgLatencyMs: null, openUntil: T0 + 31_000, changedAt: T0 + 1_000 },
      { target: "idle", state: "closed", requests: 0, errors: 0, errorRate: null, avgLatencyMs: null, openUntil: null, changedAt: null },
    ]);

    // past the open period the circuit reads as half-open even if no proxy has moved it yet
    const [, claude] = await readHealthReport(b, prefix, ["gpt", "claude"], { nowMs: T0 + 31_000 });
    expect(claude).toMatchObject({ state: "half-open", openUntil: null });
  });
});
