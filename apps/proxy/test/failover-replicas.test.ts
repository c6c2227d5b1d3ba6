/**
 * Circuit state is shared across proxy replicas. Two proxies (A and B: separate health
 * monitors, metrics and Redis connections; one Postgres, one Redis) serve the `chat`
 * route (primary → backup). The primary starts answering 503 and only A sees it fail
 * until A's circuit opens; B, which has sent nothing, must then learn the open circuit
 * through Redis and send nothing to the primary. Once the primary recovers, traffic
 * returns to it on both replicas. Every request's usage event is checked for its exact cost.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import type { UsageEvent } from "@switchyard/contracts";
import { call, usageEventsFor, waitFor } from "./harness";
import { exactCost, PROVIDER_SECRETS, recordedUsage, setupFailoverWorld, type FailoverWorld, type ModelName } from "./failover-world";

const WINDOW_MS = 2000;
const SYNC_MS = 100;
// Long enough for B's whole phase to fit inside the open period: no probe is due while it runs.
const OPEN_MS = 3000;
const RAMP_MS = 1000;
const ENV = {
  SWITCHYARD_LIMITS_PREFIX: `test:failover-replicas:${process.pid}:`,
  PROXY_UPSTREAM_HEADERS_TIMEOUT_MS: "1000",
  PROXY_RETRY_BASE_BACKOFF_MS: "20",
  PROXY_HEALTH_WINDOW_MS: String(WINDOW_MS),
  PROXY_HEALTH_MIN_REQUESTS: "5",
  PROXY_HEALTH_ERROR_RATE: "0.1",
  PROXY_HEALTH_OPEN_MS: String(OPEN_MS),
  PROXY_HEALTH_RAMP_MS: String(RAMP_MS),
  PROXY_HEALTH_SYNC_MS: String(SYNC_MS),
};
/** Requests B serves while the circuit is open, and each replica after recovery. */
const N = 10;

type ReplicaName = "A" | "B";
interface Outcome {
  replica: ReplicaName;
  phase: string;
  requestId: string;
  status: number;
  model: string | undefined;
}

let w: FailoverWorld;
let urls: Record<ReplicaName, string>;
const outcomes: Outcome[] = [];
const usage = recordedUsage();
const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];

beforeAll(async () => {
  w = await setupFailoverWorld({ database: "switchyard_test_failover_replicas", env: ENV });
  // Replica B: same database, Redis, limits prefix and settings; its own monitor and metrics.
  const b = await w.h.startProxy({ envOverrides: ENV, secretEnv: PROVIDER_SECRETS });
  urls = { A: w.base, B: b.url };
});
afterAll(async () => w?.close());

async function chatOn(replica: ReplicaName, phase: string): Promise<Outcome> {
  const r = await call(`${urls[replica]}/v1/chat/completions`, { key: w.h.keys.main, body: { model: "chat", messages } });
  const model = r.headers["x-switchyard-model"];
  const o: Outcome = { replica, phase, requestId: String(r.headers["x-request-id"]), status: r.status, model: typeof model === "string" ? model : undefined };
  outcomes.push(o);
  return o;
}

/** The primary's circuit state as a replica's /metrics reports it; null while that replica does not know the target. */
async function circuitOn(replica: ReplicaName, target: ModelName = "primary-model"): Promise<string | null> {
  const r = await call(`${urls[replica]}/metrics`);
  expect(r.status).toBe(200);
  for (const line of r.text.split("\n")) {
    const m = /^switchyard_proxy_circuit_open\{target="([^"]*)",state="([^"]*)"\} (\S+)$/.exec(line);
    if (m && m[1] === target) return m[2]!;
  }
  return null;
}

const upstreamCounts = () => ({ primary: w.primary.requests.length, backup: w.backup.requests.length });

/** Usage events of `ids`, once all are on the queue. */
async function eventsFor(ids: string[]): Promise<Map<string, UsageEvent>> {
  const want = new Set(ids);
  const events = await usageEventsFor(w.h.queue, want);
  expect(events).toHaveLength(want.size);
  const byId = new Map(events.map((e) => [e.requestId, e]));
  expect(byId.size).toBe(want.size);
  return byId;
}

describe("circuit state across two proxy replicas", () => {
  it("1. the primary fails: replica A alone sees it and opens the primary's circuit", async () => {
    onTestFailed(() => console.log(`A: ${JSON.stringify(outcomes)}; upstreams ${JSON.stringify(upstreamCounts())}`));
    // Healthy to begin with, on both replicas' view: neither has tried the primary yet.
    expect(upstreamCounts()).toEqual({ primary: 0, backup: 0 });

    w.primary.setFault("status:503");
    // Traffic on A only, until A's sync has counted enough errors to open the circuit.
    await waitFor(
      async () => {
        await chatOn("A", "opening");
        return (await circuitOn("A")) === "open";
      },
      WINDOW_MS + 5000,
      "A's circuit for the primary to open",
    );
    expect(outcomes.filter((o) => o.replica === "B")).toEqual([]);
    // Failover hid the 503s: every request was answered by the backup.
    expect(outcomes.every((o) => o.status === 200 && o.model === "backup-model")).toBe(true);
    expect(w.primary.requests.length).toBeGreaterThanOrEqual(5);

    // Open on A: requests stop reaching the primary.
    const before = upstreamCounts();
    for (let i = 0; i < 5; i++) {
      const o = await chatOn("A", "open-on-A");
      expect(o).toMatchObject({ status: 200, model: "backup-model" });
    }
    expect(upstreamCounts()).toEqual({ primary: before.primary, backup: before.backup + 5 });
  });

  it("2. replica B, which sent nothing, learns the open circuit through Redis and never calls the primary", async () => {
    // B has not served a request yet; its only source for the primary's state is Redis.
    expect(outcomes.filter((o) => o.replica === "B")).toEqual([]);
    await waitFor(async () => (await circuitOn("B")) === "open", 5000, "B's /metrics to show the primary's circuit open (shared through Redis)");

    const before = upstreamCounts();
    const served: Outcome[] = [];
    for (let i = 0; i < N; i++) served.push(await chatOn("B", "open-on-B"));
    expect(served.map((o) => [o.status, o.model])).toEqual(Array.from({ length: N }, () => [200, "backup-model"]));
    expect(upstreamCounts()).toEqual({ primary: before.primary, backup: before.backup + N });
    // Still inside the open period: the counts above are not a probe's luck.
    expect(await circuitOn("B")).toBe("open");

    const events = await eventsFor(served.map((o) => o.requestId));
    for (const o of served) {
      const ev = events.get(o.requestId)!;
      expect(ev.attempts).toBe(1);
      expect(ev.attemptLog.map((a) => a.model)).toEqual(["backup-model"]);
      expect(ev.servedModel).toBe("backup-model");
    }
  });

  it("3. the primary recovers: after the open period, traffic returns to it on both replicas", async () => {
    w.primary.setFault(null);
    const recoveredAt = outcomes.length;
    // Traffic on both replicas (a half-open circuit needs a request to probe with) until
    // both see the circuit closed again: open period, one good probe, the ramp.
    await waitFor(
      async () => {
        await chatOn("A", "recovering");
        await chatOn("B", "recovering");
        return (await circuitOn("A")) === "closed" && (await circuitOn("B")) === "closed";
      },
      OPEN_MS + RAMP_MS + 5000,
      "both replicas to see the primary's circuit closed",
    );
    const recovering = outcomes.slice(recoveredAt);
    expect(recovering.every((o) => o.status === 200)).toBe(true);

    // Closed everywhere: every request on either replica goes to the primary, first try.
    const before = upstreamCounts();
    const served: Outcome[] = [];
    for (let i = 0; i < N; i++) {
      served.push(await chatOn("A", "closed"));
      served.push(await chatOn("B", "closed"));
    }
    expect(served.filter((o) => o.status !== 200 || o.model !== "primary-model")).toEqual([]);
    expect(upstreamCounts()).toEqual({ primary: before.primary + 2 * N, backup: before.backup });
  });

  it("4. every request has exactly one usage event, its cost exact for the model that served it", async () => {
    expect(outcomes.length).toBeGreaterThan(0);
    const ids = outcomes.map((o) => o.requestId);
    expect(new Set(ids).size).toBe(ids.length);
    const events = await eventsFor(ids);

    let total = 0n;
    const attemptsOn: Record<string, number> = { "primary-model": 0, "backup-model": 0 };
    for (const o of outcomes) {
      const ev = events.get(o.requestId)!;
      expect(ev.status).toBe(200);
      expect(ev.servedModel).toBe(o.model);
      expect(ev.usage).toMatchObject(usage.json);
      expect(ev.attempts).toBe(ev.attemptLog.length);
      for (const a of ev.attemptLog) attemptsOn[a.model] = (attemptsOn[a.model] ?? 0) + 1;
      expect(ev.costNanoUsd).toBe(exactCost(o.model as ModelName, usage.json).toString());
      expect(ev.requestedCostNanoUsd).toBe(exactCost("primary-model", usage.json).toString());
      total += BigInt(ev.costNanoUsd!);
    }
    const servedBy = (m: ModelName) => BigInt(outcomes.filter((o) => o.model === m).length);
    expect(total).toBe(servedBy("primary-model") * exactCost("primary-model", usage.json) + servedBy("backup-model") * exactCost("backup-model", usage.json));
    // The two replicas are the upstreams' only clients: their attempt logs account for every request the mocks got.
    expect(attemptsOn).toEqual({ "primary-model": w.primary.requests.length, "backup-model": w.backup.requests.length });
  });
});
