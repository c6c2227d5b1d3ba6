import type { Redis } from "ioredis";
import {
  CLOSED_CIRCUIT,
  setKeyCooldown,
  sumBuckets,
  syncHealth,
  transitionCircuits,
  type CircuitRecord,
  type CircuitState,
  type CircuitTransition,
  type HealthBucket,
  type HealthDelta,
} from "@switchyard/limits";

/** The part of a logger the monitor uses; the proxy's pino logger fits. */
export interface HealthLogger {
  warn(obj: object, msg: string): void;
}

export interface HealthMonitorOptions {
  /**
   * Shared state across replicas; null = this process alone. Give it a connection
   * that fails fast (command timeout, no offline queue): a hung sync holds back the
   * next ones, though never a request.
   */
  redis: Redis | null;
  /** SWITCHYARD_LIMITS_PREFIX; keys live under `${prefix}health:`. */
  prefix: string;
  /**
   * Targets to follow besides those this replica has used (the snapshot's models), so a
   * fresh replica learns circuits other replicas opened before its first request there.
   */
  knownTargets?: () => Iterable<string>;
  /** Error-rate window. Default 120 000. */
  windowMs?: number;
  /** Bucket size of the shared counters. Default 10 000. */
  bucketMs?: number;
  /** Error rate (0..1) that opens the circuit. Default 0.1. */
  errorRate?: number;
  /** Fewer attempts than this in the window never open the circuit. Default 10. */
  minRequests?: number;
  /** First open period; doubles on each consecutive re-open. Default 30 000. */
  openMs?: number;
  /** Cap of the open period. Default 300 000. */
  maxOpenMs?: number;
  /** Recovery: admitted share rises from 10 % to 100 % over this long, then the circuit closes. Default 60 000. */
  rampMs?: number;
  /** Background sync period. Default 1000. */
  syncMs?: number;
  /** A half-open probe whose outcome was never recorded frees its slot after this long. Default 30 000. */
  probeTimeoutMs?: number;
  /** Weight of a new sample in the latency EWMA. Default 0.2. */
  latencyAlpha?: number;
  logger?: HealthLogger;
  now?: () => number;
  random?: () => number;
}

type Outcome = "ok" | "error";

interface Counts {
  ok: number;
  errors: number;
  latencySumMs: number;
  latencyCount: number;
}

interface TargetHealth {
  circuit: CircuitRecord;
  /** The window as last read (shared) or, without Redis, as counted here. */
  window: HealthBucket[];
  /** Outcomes not yet flushed, by bucket start. */
  pending: Map<number, Counts>;
  /** Transitions made here on the request path (probe outcome, expiry), in order, to be written at the next sync. */
  transitions: CircuitTransition[];
  /** Half-open: start of the probe in flight here, null when the slot is free. */
  probeStartedAt: number | null;
  ewma: number | null;
  inflight: number;
}

const RAMP_FLOOR = 0.1;

/**
 * Passive health per target (public model name): error-rate window and circuit
 * shared across replicas through Redis, latency EWMA and in-flight counts local.
 *
 * Every method the request path calls is synchronous and reads local state only;
 * `sync()` (every `syncMs` after `start()`) flushes the local counts, reads the
 * shared window, circuits and key cooldowns, and applies the transitions:
 *
 *   closed ──(≥ minRequests, error rate ≥ threshold)──▶ open ──(openUntil)──▶ half-open
 *   half-open ──probe ok──▶ recovering ──(rampMs)──▶ closed
 *   half-open ──probe error──▶ open (period doubled)   recovering ──errors──▶ open (doubled)
 *
 * Closed and recovering circuits judge only the traffic since their last change
 * (from its bucket on), so the errors that opened a circuit do not re-open it.
 */
export class HealthMonitor {
  private readonly o: Required<Omit<HealthMonitorOptions, "logger" | "redis" | "knownTargets">>;
  private readonly knownTargets: (() => Iterable<string>) | null;
  private readonly redis: Redis | null;
  private readonly logger: HealthLogger | undefined;
  private readonly targets = new Map<string, TargetHealth>();
  /** Cooldowns started here (kept even if Redis is down), keyId → until. */
  private readonly localCooldowns = new Map<string, number>();
  /** Cooldowns read from Redis at the last sync. */
  private sharedCooldowns = new Map<string, number>();
  private pendingCooldowns = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastWarnAt = -Infinity;

  constructor(options: HealthMonitorOptions) {
    this.redis = options.redis;
    this.logger = options.logger;
    this.knownTargets = options.knownTargets ?? null;
    this.o = {
      prefix: options.prefix,
      windowMs: options.windowMs ?? 120_000,
      bucketMs: options.bucketMs ?? 10_000,
      errorRate: options.errorRate ?? 0.1,
      minRequests: options.minRequests ?? 10,
      openMs: options.openMs ?? 30_000,
      maxOpenMs: options.maxOpenMs ?? 300_000,
      rampMs: options.rampMs ?? 60_000,
      syncMs: options.syncMs ?? 1000,
      probeTimeoutMs: options.probeTimeoutMs ?? 30_000,
      latencyAlpha: options.latencyAlpha ?? 0.2,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
    };
  }

  /**
   * Counts one attempt's outcome. `error` is a provider-side failure (5xx, 429, 529,
   * timeout, connection error; the caller decides). `latencyMs` (time to headers or
   * first byte) feeds the EWMA and the shared mean when the attempt succeeded.
   * In half-open, an outcome recorded while this replica's probe is out is taken as
   * the probe's.
   */
  record(target: string, outcome: Outcome, latencyMs?: number): void {
    const now = this.o.now();
    const t = this.target(target);
    const bucket = now - (now % this.o.bucketMs);
    let c = t.pending.get(bucket);
    if (!c) {
      c = { ok: 0, errors: 0, latencySumMs: 0, latencyCount: 0 };
      t.pending.set(bucket, c);
    }
    if (outcome === "ok") {
      c.ok++;
      if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
        c.latencySumMs += latencyMs;
        c.latencyCount++;
        t.ewma = t.ewma === null ? latencyMs : t.ewma + this.o.latencyAlpha * (latencyMs - t.ewma);
      }
    } else {
      c.errors++;
    }
    if (this.current(target, t, now) === "half-open" && t.probeStartedAt !== null) {
      t.probeStartedAt = null;
      this.localTransition(t, target, ["half-open"], outcome === "ok" ? "recovering" : "open", now);
    }
  }

  /** Whether to send this request to `target` now (sync, local state only). */
  admit(target: string): boolean {
    const now = this.o.now();
    const t = this.target(target);
    switch (this.current(target, t, now)) {
      case "closed":
        return true;
      case "open":
        return false;
      case "half-open":
        // One probe at a time per replica (a probe that never reported frees the slot after
        // a while). Only a look: planning asks about targets it may never try; `begin`
        // takes the slot when the attempt really goes out.
        return t.probeStartedAt === null || now - t.probeStartedAt >= this.o.probeTimeoutMs;
      case "recovering": {
        const progress = Math.min(1, Math.max(0, (now - (t.circuit.changedAt ?? now)) / this.o.rampMs));
        return this.o.random() < RAMP_FLOOR + (1 - RAMP_FLOOR) * progress;
      }
    }
  }

  state(target: string): CircuitState {
    return this.current(target, this.target(target), this.o.now());
  }

  /** EWMA of successful attempts' latency here; null before the first one. */
  latencyEwma(target: string): number | null {
    return this.targets.get(target)?.ewma ?? null;
  }

  /** Marks an attempt in flight (for power-of-two-choices) and takes a half-open target's probe slot; pair with `end`. */
  begin(target: string): void {
    const t = this.target(target);
    t.inflight++;
    const now = this.o.now();
    if (this.current(target, t, now) === "half-open" && (t.probeStartedAt === null || now - t.probeStartedAt >= this.o.probeTimeoutMs)) t.probeStartedAt = now;
  }

  end(target: string): void {
    const t = this.target(target);
    t.inflight = Math.max(0, t.inflight - 1);
  }

  inflight(target: string): number {
    return this.targets.get(target)?.inflight ?? 0;
  }

  /** Keeps a provider key out of rotation for `ms` (e.g. after its own 429), here at once and on every replica after their next sync. */
  coolDownKey(keyId: string, ms: number): void {
    const until = this.o.now() + ms;
    if ((this.localCooldowns.get(keyId) ?? 0) >= until) return;
    this.localCooldowns.set(keyId, until);
    this.pendingCooldowns.set(keyId, until);
  }

  keyCoolingDown(keyId: string): boolean {
    const now = this.o.now();
    return (this.localCooldowns.get(keyId) ?? 0) > now || (this.sharedCooldowns.get(keyId) ?? 0) > now;
  }

  /** Every known target's state and window error rate (for a metrics gauge). */
  states(): { target: string; state: CircuitState; errorRate: number | null }[] {
    const now = this.o.now();
    return [...this.targets].map(([target, t]) => ({
      target,
      state: this.current(target, t, now),
      errorRate: sumBuckets(t.window).errorRate,
    }));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.running) void this.sync();
    }, this.o.syncMs);
    this.timer.unref();
  }

  /** Stops the background sync; the outcomes of the last interval stay unflushed. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Flushes local counts, reads the shared state and applies transitions. Never throws; concurrent calls share one run. */
  sync(): Promise<void> {
    this.running ??= this.runSync().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runSync(): Promise<void> {
    const now = this.o.now();
    const deltas: HealthDelta[] = [];
    const pushes: CircuitTransition[] = [];
    if (this.knownTargets) for (const name of this.knownTargets()) this.target(name);
    const targets = [...this.targets.keys()];
    for (const [target, t] of this.targets) {
      for (const [bucketStartMs, c] of t.pending) deltas.push({ target, bucketStartMs, ...c });
      t.pending = new Map();
      pushes.push(...t.transitions);
      t.transitions = [];
    }
    const cooldowns = this.pendingCooldowns;
    this.pendingCooldowns = new Map();
    this.pruneCooldowns(now);

    if (!this.redis) {
      this.syncLocally(deltas, now);
      return;
    }
    const redis = this.redis;
    const topts = { nowMs: now, openMs: this.o.openMs, maxOpenMs: this.o.maxOpenMs };
    try {
      await Promise.all([...cooldowns].map(([keyId, until]) => setKeyCooldown(redis, this.o.prefix, keyId, until, now)));
      // changes made on the request path go first, so the read below already includes them
      this.applyShared(await transitionCircuits(redis, this.o.prefix, pushes, topts));
      const r = await syncHealth(redis, this.o.prefix, { deltas, targets, nowMs: now, windowMs: this.o.windowMs, bucketMs: this.o.bucketMs });
      this.sharedCooldowns = r.cooldowns;
      for (const target of targets) {
        const t = this.target(target);
        t.window = r.windows.get(target) ?? [];
        // a transition made here during the round trip is newer than what was read
        if (t.transitions.length === 0) this.setCircuit(t, r.circuits.get(target) ?? CLOSED_CIRCUIT);
      }
      this.applyShared(await transitionCircuits(redis, this.o.prefix, this.rules(targets, now), topts));
    } catch (err) {
      this.warn(err);
      for (const [keyId, until] of cooldowns) if (until > now && (this.pendingCooldowns.get(keyId) ?? 0) < until) this.pendingCooldowns.set(keyId, until);
      // Redis is away: decide from what this replica sees. These counts never reach Redis.
      this.syncLocally(deltas, now);
    }
  }

  /** Without (working) Redis: count locally and apply the rules to the local circuits. */
  private syncLocally(deltas: readonly HealthDelta[], now: number): void {
    const oldest = now - (now % this.o.bucketMs) - this.o.windowMs + this.o.bucketMs;
    for (const d of deltas) {
      const t = this.target(d.target);
      const b = t.window.find((x) => x.startMs === d.bucketStartMs);
      if (b) {
        b.ok += d.ok;
        b.errors += d.errors;
        b.latencySumMs += d.latencySumMs;
        b.latencyCount += d.latencyCount;
      } else {
        t.window.push({ startMs: d.bucketStartMs, ok: d.ok, errors: d.errors, latencySumMs: d.latencySumMs, latencyCount: d.latencyCount });
      }
    }
    for (const t of this.targets.values()) t.window = t.window.filter((b) => b.startMs >= oldest).sort((a, b) => a.startMs - b.startMs);
    for (const tr of this.rules([...this.targets.keys()], now)) {
      const t = this.target(tr.target);
      const next = applyTransition(t.circuit, tr, now, this.o);
      if (next) this.setCircuit(t, next);
    }
  }

  /** The transitions the window and the clock call for. */
  private rules(targets: readonly string[], now: number): CircuitTransition[] {
    const out: CircuitTransition[] = [];
    for (const target of targets) {
      const t = this.target(target);
      const c = t.circuit;
      if (c.state === "open") {
        if (c.openUntil !== null && now >= c.openUntil) out.push({ target, from: ["open"], to: "half-open" });
        continue;
      }
      if (c.state === "half-open") continue;
      const since = c.changedAt === null ? -Infinity : c.changedAt - (c.changedAt % this.o.bucketMs);
      const s = sumBuckets(t.window, since);
      if (s.requests >= this.o.minRequests && (s.errorRate ?? 0) >= this.o.errorRate) {
        out.push({ target, from: [c.state], to: "open" });
      } else if (c.state === "recovering" && now - (c.changedAt ?? now) >= this.o.rampMs) {
        out.push({ target, from: ["recovering"], to: "closed", minAgeMs: this.o.rampMs });
      }
    }
    return out;
  }

  private applyShared(results: { target: string; circuit: CircuitRecord }[]): void {
    for (const r of results) {
      const t = this.target(r.target);
      if (t.transitions.length === 0) this.setCircuit(t, r.circuit);
    }
  }

  /** The state now, moving an expired open period to half-open and a finished ramp to closed here at once. */
  private current(target: string, t: TargetHealth, now: number): CircuitState {
    const c = t.circuit;
    if (c.state === "open" && c.openUntil !== null && now >= c.openUntil) {
      this.localTransition(t, target, ["open"], "half-open", now);
    } else if (c.state === "recovering" && now - (c.changedAt ?? now) >= this.o.rampMs) {
      this.localTransition(t, target, ["recovering"], "closed", now);
    }
    return t.circuit.state;
  }

  private localTransition(t: TargetHealth, target: string, from: CircuitState[], to: CircuitState, now: number): void {
    const tr: CircuitTransition = { target, from, to, ...(to === "closed" ? { minAgeMs: this.o.rampMs } : {}) };
    const next = applyTransition(t.circuit, tr, now, this.o);
    if (!next) return;
    this.setCircuit(t, next);
    if (this.redis) t.transitions.push(tr);
  }

  private setCircuit(t: TargetHealth, c: CircuitRecord): void {
    if (c.state !== "half-open") t.probeStartedAt = null;
    t.circuit = c;
  }

  private target(name: string): TargetHealth {
    let t = this.targets.get(name);
    if (!t) {
      t = { circuit: CLOSED_CIRCUIT, window: [], pending: new Map(), transitions: [], probeStartedAt: null, ewma: null, inflight: 0 };
      this.targets.set(name, t);
    }
    return t;
  }

  private pruneCooldowns(now: number): void {
    for (const [k, until] of this.localCooldowns) if (until <= now) this.localCooldowns.delete(k);
  }

  private warn(err: unknown): void {
    // Redis down means an error every sync: one line every 30 s is enough.
    const now = this.o.now();
    if (now - this.lastWarnAt < 30_000) return;
    this.lastWarnAt = now;
    this.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, "provider health: Redis unavailable, deciding from this replica's traffic only");
  }
}

/**
 * The local twin of the TRANSITION script in @switchyard/limits (same rules), for
 * the request path and for running without Redis. Null when refused.
 */
export function applyTransition(
  c: CircuitRecord,
  tr: CircuitTransition,
  now: number,
  o: { openMs: number; maxOpenMs: number },
): CircuitRecord | null {
  if (!tr.from.includes(c.state)) return null;
  if (c.changedAt !== null && now - c.changedAt < (tr.minAgeMs ?? 0)) return null;
  if (tr.to === "half-open" && c.openUntil !== null && now < c.openUntil) return null;
  if (tr.to === "open") {
    const streak = c.state === "closed" ? 0 : c.streak + 1;
    const openMs = Math.min(o.openMs * 2 ** Math.min(streak, 30), o.maxOpenMs);
    return { state: "open", openUntil: now + openMs, changedAt: now, streak };
  }
  return { state: tr.to, openUntil: null, changedAt: now, streak: tr.to === "closed" ? 0 : c.streak };
}
