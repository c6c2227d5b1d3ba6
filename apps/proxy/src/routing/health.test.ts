import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { deleteKeysWithPrefix, readHealthReport } from "@switchyard/limits";
import { createLogger } from "../logger";
import { HealthMonitor, type HealthMonitorOptions } from "./health";

/** SWITCHYARD_TEST_REDIS_URL lets a developer run this suite against a Redis of its own; keys live under a random prefix. */
const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
const redis = new Redis(REDIS_URL);
const prefixes: string[] = [];
const monitors: HealthMonitor[] = [];

afterEach(() => {
  for (const m of monitors.splice(0)) m.stop();
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

/** Two replicas sharing one Redis, one clock and one dice. */
function replicas(opts: Partial<HealthMonitorOptions> = {}) {
  const prefix = `test:health:${randomBytes(6).toString("hex")}:`;
  prefixes.push(prefix);
  const env = { clock: 1_800_000_000_000, dice: 0.5 };
  const make = () => {
    const m = new HealthMonitor({ redis, prefix, now: () => env.clock, random: () => env.dice, ...opts });
    // a replica reads the shared state of the targets it has been asked about; both know "gpt" from the start
    m.state("gpt");
    monitors.push(m);
    return m;
  };
  return { env, a: make(), b: make(), prefix };
}

function fail(m: HealthMonitor, target: string, errors: number, oks = 0): void {
  for (let i = 0; i < errors; i++) m.record(target, "error");
  for (let i = 0; i < oks; i++) m.record(target, "ok", 100);
}

async function syncAll(...ms: HealthMonitor[]): Promise<void> {
  for (const m of ms) await m.sync();
}


/** What the failover loop does: ask, and when admitted, start the attempt (a half-open probe takes its slot). */
function attempt(m: HealthMonitor, target: string): boolean {
  const ok = m.admit(target);
  if (ok) m.begin(target);
  return ok;
}

describe("HealthMonitor across replicas", () => {
  it("opens the circuit on every replica once one sees too many errors", async () => {
    const { a, b } = replicas();
    fail(a, "gpt", 2, 9); // 2 of 11 = 18 %
    expect(attempt(b, "gpt")).toBe(true);
    await syncAll(a, b);
    expect(a.state("gpt")).toBe("open");
    expect(b.state("gpt")).toBe("open");
    expect(attempt(b, "gpt")).toBe(false);
    expect(b.states()).toEqual([{ target: "gpt", state: "open", errorRate: 2 / 11 }]);
  });

  it("counts both replicas' traffic towards one error rate", async () => {
    const { a, b } = replicas();
    fail(a, "gpt", 1, 4);
    fail(b, "gpt", 1, 4); // each alone: 5 requests, below minRequests; together 10 at 20 %
    await a.sync();
    expect(a.state("gpt")).toBe("closed");
    await syncAll(b, a);
    expect(a.state("gpt")).toBe("open");
  });

  it("never opens below minRequests or below the error rate", async () => {
    const { a, b } = replicas();
    fail(a, "few", 9);
    fail(a, "healthy", 1, 10); // 1 of 11 = 9 %
    await syncAll(a, b);
    expect(a.state("few")).toBe("closed");
    expect(a.state("healthy")).toBe("closed");
    expect(attempt(a, "few")).toBe(true);
  });

  it("walks open → half-open probe → recovering ramp → closed", async () => {
    const { env, a, b } = replicas();
    fail(a, "gpt", 10);
    await syncAll(a, b);
    expect(attempt(b, "gpt")).toBe(false);

    env.clock += 29_999;
    expect(attempt(a, "gpt")).toBe(false);
    env.clock += 1;
    expect(a.state("gpt")).toBe("half-open");
    expect(attempt(a, "gpt")).toBe(true); // the probe
    expect(attempt(a, "gpt")).toBe(false); // one at a time
    a.record("gpt", "ok", 120);
    expect(a.state("gpt")).toBe("recovering");
    await syncAll(a, b);
    expect(b.state("gpt")).toBe("recovering");

    // the admitted share rises from 10 % to 100 % over the ramp
    env.dice = 0.5;
    expect(attempt(b, "gpt")).toBe(false);
    env.dice = 0.09;
    expect(attempt(b, "gpt")).toBe(true);
    env.clock += 30_000; // halfway: 55 %
    env.dice = 0.5;
    expect(attempt(b, "gpt")).toBe(true);
    env.dice = 0.6;
    expect(attempt(b, "gpt")).toBe(false);
    // traffic during the ramp is healthy; the errors that opened the circuit are still in the window but no longer count
    fail(b, "gpt", 1, 20);
    await syncAll(b, a);
    expect(a.state("gpt")).toBe("recovering");

    env.clock += 30_000;
    await syncAll(a, b);
    expect(a.state("gpt")).toBe("closed");
    expect(b.state("gpt")).toBe("closed");
    expect(attempt(b, "gpt")).toBe(true);
  });

  it("re-opens with a doubled open period when the probe fails", async () => {
    const { env, a, b, prefix } = replicas();
    fail(a, "gpt", 10);
    await syncAll(a, b);
    const opened = env.clock;

    env.clock += 30_000;
    expect(attempt(a, "gpt")).toBe(true);
    a.record("gpt", "error");
    expect(a.state("gpt")).toBe("open");
    await syncAll(a, b);
    const [row] = await readHealthReport(redis, prefix, ["gpt"], { nowMs: env.clock });
    expect(row).toMatchObject({ state: "open", openUntil: opened + 30_000 + 60_000 });

    env.clock += 59_999;
    await syncAll(a, b);
    expect(attempt(b, "gpt")).toBe(false);
    env.clock += 1;
    expect(attempt(b, "gpt")).toBe(true); // b's probe this time
    b.record("gpt", "error");
    await syncAll(b, a);
    const [again] = await readHealthReport(redis, prefix, ["gpt"], { nowMs: env.clock });
    expect(again!.openUntil).toBe(env.clock + 120_000);
    expect(a.state("gpt")).toBe("open");
  });

  it("re-opens a recovering circuit whose new traffic fails", async () => {
    const { env, a, b } = replicas();
    fail(a, "gpt", 10);
    await syncAll(a, b);
    env.clock += 30_000;
    attempt(a, "gpt");
    a.record("gpt", "ok", 50);
    await syncAll(a, b);
    expect(b.state("gpt")).toBe("recovering");

    env.clock += 10_000;
    fail(b, "gpt", 5, 5);
    await syncAll(b, a);
    expect(a.state("gpt")).toBe("open");
    env.clock += 59_999; // second open: 60 s
    expect(attempt(a, "gpt")).toBe(false);
    env.clock += 1;
    expect(a.state("gpt")).toBe("half-open");
  });

  it("frees a probe slot whose outcome never came after the probe timeout", async () => {
    const { env, a, b } = replicas({ probeTimeoutMs: 5_000 });
    fail(a, "gpt", 10);
    await syncAll(a, b);
    env.clock += 30_000;
    expect(attempt(a, "gpt")).toBe(true);
    env.clock += 4_999;
    expect(attempt(a, "gpt")).toBe(false);
    env.clock += 1;
    expect(attempt(a, "gpt")).toBe(true);
  });

  it("shares provider-key cooldowns", async () => {
    const { env, a, b } = replicas();
    a.coolDownKey("key-1", 5_000);
    expect(a.keyCoolingDown("key-1")).toBe(true);
    expect(b.keyCoolingDown("key-1")).toBe(false);
    await syncAll(a, b);
    expect(b.keyCoolingDown("key-1")).toBe(true);
    expect(b.keyCoolingDown("key-2")).toBe(false);
    env.clock += 5_000;
    await syncAll(a, b);
    expect(a.keyCoolingDown("key-1")).toBe(false);
    expect(b.keyCoolingDown("key-1")).toBe(false);
  });

  it("syncs in the background after start()", async () => {
    const { a, b } = replicas({ syncMs: 10 });
    a.start();
    fail(a, "gpt", 10);
    const deadline = Date.now() + 10_000;
    while (b.state("gpt") !== "open" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      await b.sync();
    }
    expect(b.state("gpt")).toBe("open");
  });
});

describe("HealthMonitor local state", () => {
  it("keeps a latency EWMA of successful attempts and counts attempts in flight", () => {
    const m = new HealthMonitor({ redis: null, prefix: "unused:", latencyAlpha: 0.5 });
    expect(m.latencyEwma("gpt")).toBeNull();
    m.record("gpt", "ok", 100);
    m.record("gpt", "ok", 200);
    m.record("gpt", "error", 5_000);
    expect(m.latencyEwma("gpt")).toBe(150);
    m.begin("gpt");
    m.begin("gpt");
    m.end("gpt");
    expect(m.inflight("gpt")).toBe(1);
    expect(m.inflight("other")).toBe(0);
  });

  it("works without Redis: the same circuit from this replica's own traffic", async () => {
    const env = { clock: 1_800_000_000_000 };
    const m = new HealthMonitor({ redis: null, prefix: "unused:", now: () => env.clock, random: () => 0.99 });
    fail(m, "gpt", 10);
    await m.sync();
    expect(attempt(m, "gpt")).toBe(false);
    env.clock += 30_000;
    expect(attempt(m, "gpt")).toBe(true);
    m.record("gpt", "ok", 10);
    expect(m.state("gpt")).toBe("recovering");
    env.clock += 60_000;
    await m.sync();
    expect(m.state("gpt")).toBe("closed");
    m.coolDownKey("key-1", 1_000);
    expect(m.keyCoolingDown("key-1")).toBe(true);
  });

  it("keeps deciding locally when Redis is down, never throws and warns once per 30 s", async () => {
    const down = new Redis("redis://127.0.0.1:1", { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on("error", () => {});
    const warnings: string[] = [];
    const logger = createLogger("silent");
    logger.warn = ((_obj: object, msg: string) => void warnings.push(msg)) as typeof logger.warn;
    const env = { clock: 1_800_000_000_000 };
    const m = new HealthMonitor({ redis: down, prefix: "unused:", logger, now: () => env.clock });

    fail(m, "gpt", 10);
    m.coolDownKey("key-1", 5_000);
    await expect(m.sync()).resolves.toBeUndefined();
    expect(attempt(m, "gpt")).toBe(false);
    expect(m.keyCoolingDown("key-1")).toBe(true);
    env.clock += 1_000;
    await m.sync();
    expect(warnings).toHaveLength(1);
    env.clock += 30_000;
    await m.sync();
    expect(warnings).toHaveLength(2);
    expect(m.state("gpt")).toBe("half-open");
    down.disconnect();
  });
});
