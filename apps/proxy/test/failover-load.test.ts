/**
 * The primary provider goes down under load: eight clients keep calling the `chat` route
 * (primary → backup) while the primary starts answering 503. Within the health window
 * its circuit opens and traffic moves to the backup; once it recovers, traffic comes
 * back. Shares are asserted per phase from what each upstream received, and every
 * request's usage event is checked against the exact cost of the model that served it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { UsageEvent } from "@switchyard/contracts";
import { call, usageEventsFor, waitFor } from "./harness";
import { exactCost, recordedUsage, setupFailoverWorld, type FailoverWorld, type ModelName } from "./failover-world";

const WINDOW_MS = 2000;
const SYNC_MS = 100;
// Long enough for the open stretch below to gather its answers on a slow machine before a probe is due.
const OPEN_MS = 3000;
const RAMP_MS = 1000;
const CLIENTS = 8;

let w: FailoverWorld;
const usage = recordedUsage();
const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];

beforeAll(async () => {
  w = await setupFailoverWorld({
    database: "switchyard_test_failover",
    maxRecorded: 1_000_000,
    env: {
      SWITCHYARD_LIMITS_PREFIX: `test:failover-load:${process.pid}:`,
      PROXY_UPSTREAM_HEADERS_TIMEOUT_MS: "1000",
      PROXY_RETRY_BASE_BACKOFF_MS: "20",
      PROXY_HEALTH_WINDOW_MS: String(WINDOW_MS),
      PROXY_HEALTH_MIN_REQUESTS: "5",
      PROXY_HEALTH_ERROR_RATE: "0.1",
      PROXY_HEALTH_OPEN_MS: String(OPEN_MS),
      PROXY_HEALTH_RAMP_MS: String(RAMP_MS),
      PROXY_HEALTH_SYNC_MS: String(SYNC_MS),
    },
  });
});
afterAll(async () => w?.close());

interface Outcome {
  requestId: string;
  status: number;
  model: string | undefined;
  startedAt: number;
}

/** Eight clients calling in a loop until stopped; each outcome kept in order of completion. */
function startLoad(): { outcomes: Outcome[]; stop(): Promise<void> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const client = async () => {
    while (running) {
      const startedAt = performance.now();
      const r = await call(`${w.base}/v1/chat/completions`, { key: w.h.keys.main, body: { model: "chat", messages } });
      const model = r.headers["x-switchyard-model"];
      outcomes.push({ requestId: String(r.headers["x-request-id"]), status: r.status, model: typeof model === "string" ? model : undefined, startedAt });
      await sleep(10);
    }
  };
  const clients = Array.from({ length: CLIENTS }, () => client());
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(clients);
    },
  };
}

/** Requests each upstream got between two marks. */
interface Mark {
  at: number;
  primary: number;
  backup: number;
  answered: number;
}

describe("primary down under load", () => {
  it("moves traffic to the backup within the health window and back after recovery, with every request costed exactly", async () => {
    const load = startLoad();
    const mark = (): Mark => ({ at: performance.now(), primary: w.primary.requests.length, backup: w.backup.requests.length, answered: load.outcomes.length });
    const between = (a: Mark, b: Mark) => ({ primary: b.primary - a.primary, backup: b.backup - a.backup, answered: b.answered - a.answered });
    const state = () => w.running.health.state("primary-model");
    const phases: Record<string, ReturnType<typeof between>> = {};
    // The circuit's path, printed if the test fails (ms since the load started, requests per upstream so far).
    const t0 = performance.now();
    const trace: string[] = [];
    const note = (what: string) => trace.push(`${Math.round(performance.now() - t0)} ms: ${what} (primary ${w.primary.requests.length}, backup ${w.backup.requests.length})`);
    let last = "";
    const tracer = setInterval(() => {
      if (state() !== last) note((last = state()));
    }, 5);
    const dump = () => console.log(`primary-model circuit:\n${trace.join("\n")}\nphases: ${JSON.stringify(phases)}`);
    onTestFailed(dump);
    try {
      // Phase 1, healthy: the primary takes everything.
      await sleep(300);
      const healthyFrom = mark();
      // At least 700 ms and 40 answers (a slow machine takes longer, not fewer).
      await sleep(700);
      await waitFor(() => load.outcomes.length - healthyFrom.answered >= 40, 15_000, "40 answers while healthy");
      const healthyTo = mark();
      phases.healthy = between(healthyFrom, healthyTo);

      // Phase 2, the primary answers 503: each request fails over at once, then the circuit opens.
      w.primary.setFault("status:503");
      note("primary down");
      const downAt = performance.now();
      await waitFor(() => state() === "open", WINDOW_MS + 1000, "the primary's circuit to open");
      const openedAfterMs = performance.now() - downAt;
      // A stretch inside the open period, of at least 600 ms and three answers per client
      // (a slow machine takes longer, not fewer), that ends before a probe is due.
      await sleep(50);
      const openFrom = mark();
      await sleep(600);
      await waitFor(() => load.outcomes.length - openFrom.answered >= 3 * CLIENTS, OPEN_MS - 1000, "three answers per client while the circuit is open");
      const openTo = mark();
      phases.open = between(openFrom, openTo);
      expect(state()).toBe("open");
      expect(openedAfterMs).toBeLessThan(WINDOW_MS + 2 * SYNC_MS + 500);

      // Phase 3, the primary is back: a probe, then a ramp, then all traffic.
      w.primary.setFault(null);
      note("primary up");
      // The rest of the open period, one good probe, the ramp: a probe that succeeds must not
      // leave the circuit to re-open on the errors that opened it (that would double the wait).
      await waitFor(() => state() === "closed", OPEN_MS + RAMP_MS + 1000, "the primary's circuit to close again after one good probe");
      const closedFrom = mark();
      await sleep(700);
      await waitFor(() => load.outcomes.length - closedFrom.answered >= 40, 15_000, "40 answers after recovery");
      const closedTo = mark();
      phases.recovered = between(closedFrom, closedTo);
    } finally {
      clearInterval(tracer);
      await load.stop();
    }

    // Enough traffic in every phase for the shares to mean something (the open stretch must
    // end before the open period does: three answers per client).
    expect(phases.healthy.answered).toBeGreaterThanOrEqual(40);
    expect(phases.recovered.answered).toBeGreaterThanOrEqual(40);
    expect(phases.open.answered).toBeGreaterThanOrEqual(3 * CLIENTS);
    // Healthy: all on the primary, none on the backup.
    expect(phases.healthy.backup).toBe(0);
    expect(phases.healthy.primary).toBeGreaterThanOrEqual(phases.healthy.answered - CLIENTS);
    // Open: the backup takes the traffic and the primary gets next to nothing (no probe is due in this stretch).
    expect(phases.open.primary).toBeLessThanOrEqual(2);
    expect(phases.open.backup).toBeGreaterThanOrEqual(phases.open.answered - CLIENTS);
    // Recovered: back on the primary.
    expect(phases.recovered.backup).toBeLessThanOrEqual(2);
    expect(phases.recovered.primary).toBeGreaterThanOrEqual(phases.recovered.answered - CLIENTS);

    // Failover is invisible to clients: not one failed request in any phase.
    const outcomes = load.outcomes;
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    const servedBy = (m: ModelName) => outcomes.filter((o) => o.model === m).length;
    expect(servedBy("primary-model") + servedBy("backup-model")).toBe(outcomes.length);
    expect(servedBy("backup-model")).toBeGreaterThan(0);

    // Exactly one usage event per request, its cost exact for the served model, and the
    // attempts they record are exactly the requests the upstreams received.
    const ids = new Set(outcomes.map((o) => o.requestId));
    expect(ids.size).toBe(outcomes.length);
    const events = await usageEventsFor(w.h.queue, ids);
    expect(events).toHaveLength(outcomes.length);
    const byId = new Map<string, UsageEvent>(events.map((e) => [e.requestId, e]));
    expect(byId.size).toBe(outcomes.length);

    let total = 0n;
    let expected = 0n;
    const attemptsOn = { "primary-model": 0, "backup-model": 0 } as Record<string, number>;
    for (const o of outcomes) {
      const ev = byId.get(o.requestId)!;
      expect(ev.status).toBe(200);
      expect(ev.servedModel).toBe(o.model);
      expect(ev.usage).toMatchObject(usage.json);
      expect(ev.attempts).toBe(ev.attemptLog.length);
      for (const a of ev.attemptLog) attemptsOn[a.model] = (attemptsOn[a.model] ?? 0) + 1;
      const exact = exactCost(o.model as ModelName, usage.json);
      expect(ev.costNanoUsd).toBe(exact.toString());
      expect(ev.requestedCostNanoUsd).toBe(exactCost("primary-model", usage.json).toString());
      total += BigInt(ev.costNanoUsd!);
      expected += exact;
    }
    expect(total).toBe(expected);
    expect(total).toBe(BigInt(servedBy("primary-model")) * exactCost("primary-model", usage.json) + BigInt(servedBy("backup-model")) * exactCost("backup-model", usage.json));
    expect(attemptsOn).toEqual({ "primary-model": w.primary.requests.length, "backup-model": w.backup.requests.length });
  });
});
