/**
 * Prometheus metrics, hand-written: a handful of counters, one histogram and gauges
 * are not worth a dependency. Label values come from the snapshot (model, provider
 * names) or small enums, never from raw client input, to bound cardinality.
 */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",")}}`;

/** Counts by two labels, nested by label value. */
type Counts2 = Map<string, Map<string, number>>;

/** Adds one to `outer → inner`. */
function count2(m: Counts2, outer: string, inner: string): void {
  let byInner = m.get(outer);
  if (!byInner) m.set(outer, (byInner = new Map<string, number>()));
  byInner.set(inner, (byInner.get(inner) ?? 0) + 1);
}

export class ProxyMetrics {
  /**
   * endpoint → served model → status → requests. Nested maps, not one map keyed by the
   * labels joined: every request built that key afresh, and hashing a new string (and the
   * labels object beside it) cost ~1 µs a counter; a model name from the snapshot keeps
   * its hash.
   */
  private readonly requests = new Map<string, Map<string, Map<number, number>>>();
  private readonly unpriced = new Map<string, number>();
  private readonly upstreamLatency = new Map<string, Histogram>();
  private readonly snapshotReloads = { ok: 0, error: 0 };
  private spoolEvents = 0;
  private readonly limited = { rate_limit: 0, budget: 0 };
  private readonly limitsErrors = new Map<string, number>();
  private readonly admissions = { lease: 0, redis: 0 };
  private snapshotLoadedAt: number | null = null;
  /** Target model → result → attempts. */
  private readonly attempts: Counts2 = new Map();
  private readonly cacheResults = new Map<string, number>();
  private circuits: (() => readonly { target: string; state: string; errorRate: number | null }[]) | null = null;

  /** One upstream attempt by target model and outcome ("ok" or its error class). */
  countAttempt(model: string, result: string): void {
    count2(this.attempts, model, result);
  }

  /** A cacheable request's outcome: hit, semantic-hit, coalesced, miss or bypass. */
  countCache(result: string): void {
    this.cacheResults.set(result, (this.cacheResults.get(result) ?? 0) + 1);
  }

  /** Where the circuit gauges come from (the health monitor's states, read at scrape time). */
  setCircuitSource(source: () => readonly { target: string; state: string; errorRate: number | null }[]): void {
    this.circuits = source;
  }

  countRequest(status: number, model: string, endpoint: string): void {
    let byModel = this.requests.get(endpoint);
    if (!byModel) this.requests.set(endpoint, (byModel = new Map<string, Map<number, number>>()));
    let byStatus = byModel.get(model);
    if (!byStatus) byModel.set(model, (byStatus = new Map<number, number>()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  countUnpriced(model: string): void {
    this.unpriced.set(model, (this.unpriced.get(model) ?? 0) + 1);
  }

  /** Time from sending the upstream request to its response headers. */
  observeUpstreamLatency(provider: string, seconds: number): void {
    let h = this.upstreamLatency.get(provider);
    if (!h) {
      h = { counts: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.upstreamLatency.set(provider, h);
    }
    LATENCY_BUCKETS.forEach((b, i) => {
      if (seconds <= b) h.counts[i] = (h.counts[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count++;
  }

  /** A request refused with 429 by a rate limit or a budget. */
  countLimited(reason: "rate_limit" | "budget"): void {
    this.limited[reason]++;
  }

  /** A request checked against its limits: from a lease held by this replica, or by its own Redis admit. */
  countAdmission(via: "lease" | "redis"): void {
    this.admissions[via]++;
  }

  /** A limits command that failed (Redis down, timeout); `op` is consume, reserve, settle or correct. */
  countLimitsError(op: "admit" | "settle"): void {
    this.limitsErrors.set(op, (this.limitsErrors.get(op) ?? 0) + 1);
  }

  setSpoolEvents(n: number): void {
    this.spoolEvents = n;
  }

  snapshotReloaded(ok: boolean, at = Date.now()): void {
    if (ok) {
      this.snapshotReloads.ok++;
      this.snapshotLoadedAt = at;
    } else this.snapshotReloads.error++;
  }

  render(now = Date.now()): string {
    const out: string[] = [];
    out.push("# HELP switchyard_proxy_requests_total Requests answered, by endpoint, served model and status.");
    out.push("# TYPE switchyard_proxy_requests_total counter");
    for (const [endpoint, byModel] of this.requests)
      for (const [model, byStatus] of byModel)
        for (const [status, v] of byStatus) out.push(`switchyard_proxy_requests_total${labels({ endpoint, model, status: String(status) })} ${v}`);

    out.push("# HELP switchyard_proxy_unpriced_requests_total Requests to a model without a price (recorded as unpriced, never $0).");
    out.push("# TYPE switchyard_proxy_unpriced_requests_total counter");
    for (const [model, v] of this.unpriced) out.push(`switchyard_proxy_unpriced_requests_total${labels({ model })} ${v}`);

    out.push("# HELP switchyard_proxy_upstream_latency_seconds Time to the provider's response headers.");
    out.push("# TYPE switchyard_proxy_upstream_latency_seconds histogram");
    for (const [provider, h] of this.upstreamLatency) {
      LATENCY_BUCKETS.forEach((b, i) =>
        out.push(`switchyard_proxy_upstream_latency_seconds_bucket${labels({ provider, le: String(b) })} ${h.counts[i] ?? 0}`),
      );
      out.push(`switchyard_proxy_upstream_latency_seconds_bucket${labels({ provider, le: "+Inf" })} ${h.count}`);
      out.push(`switchyard_proxy_upstream_latency_seconds_sum${labels({ provider })} ${h.sum}`);
      out.push(`switchyard_proxy_upstream_latency_seconds_count${labels({ provider })} ${h.count}`);
    }

    out.push("# HELP switchyard_proxy_limited_requests_total Requests refused with 429 by the gateway's own rate limits or budgets.");
    out.push("# TYPE switchyard_proxy_limited_requests_total counter");
    for (const [reason, v] of Object.entries(this.limited)) out.push(`switchyard_proxy_limited_requests_total${labels({ reason })} ${v}`);

    out.push("# HELP switchyard_limits_admissions_total Requests checked against rate limits and budgets, by how: against a lease this replica holds, or by a Redis admit of their own.");
    out.push("# TYPE switchyard_limits_admissions_total counter");
    for (const [via, v] of Object.entries(this.admissions)) out.push(`switchyard_limits_admissions_total${labels({ via })} ${v}`);

    out.push("# HELP switchyard_limits_errors_total Rate-limit and budget commands that failed (Redis unreachable or slow), by operation.");
    out.push("# TYPE switchyard_limits_errors_total counter");
    for (const [op, v] of this.limitsErrors) out.push(`switchyard_limits_errors_total${labels({ op })} ${v}`);

    out.push("# HELP switchyard_proxy_upstream_attempts_total Upstream attempts (retries and failovers included) by target model and result.");
    out.push("# TYPE switchyard_proxy_upstream_attempts_total counter");
    for (const [model, byResult] of this.attempts)
      for (const [result, v] of byResult) out.push(`switchyard_proxy_upstream_attempts_total${labels({ model, result })} ${v}`);

    out.push("# HELP switchyard_proxy_cache_requests_total Requests on cached routes by result.");
    out.push("# TYPE switchyard_proxy_cache_requests_total counter");
    for (const [result, v] of this.cacheResults) out.push(`switchyard_proxy_cache_requests_total${labels({ result })} ${v}`);

    if (this.circuits) {
      const states = this.circuits();
      out.push("# HELP switchyard_proxy_circuit_open Whether a target's circuit is open (1), half-open or recovering (0.5), or closed (0), as this replica sees it.");
      out.push("# TYPE switchyard_proxy_circuit_open gauge");
      for (const c of states) out.push(`switchyard_proxy_circuit_open${labels({ target: c.target, state: c.state })} ${c.state === "open" ? 1 : c.state === "closed" ? 0 : 0.5}`);
      out.push("# HELP switchyard_proxy_target_error_rate Error rate of a target over the health window (shared by all replicas).");
      out.push("# TYPE switchyard_proxy_target_error_rate gauge");
      for (const c of states) if (c.errorRate !== null) out.push(`switchyard_proxy_target_error_rate${labels({ target: c.target })} ${c.errorRate}`);
    }

    out.push("# HELP switchyard_proxy_usage_spool_events Usage events waiting in the local spool for Redis to come back.");
    out.push("# TYPE switchyard_proxy_usage_spool_events gauge");
    out.push(`switchyard_proxy_usage_spool_events ${this.spoolEvents}`);

    out.push("# HELP switchyard_proxy_snapshot_reloads_total Snapshot reloads by result.");
    out.push("# TYPE switchyard_proxy_snapshot_reloads_total counter");
    out.push(`switchyard_proxy_snapshot_reloads_total{result="ok"} ${this.snapshotReloads.ok}`);
    out.push(`switchyard_proxy_snapshot_reloads_total{result="error"} ${this.snapshotReloads.error}`);
    if (this.snapshotLoadedAt !== null) {
      out.push("# HELP switchyard_proxy_snapshot_age_seconds Seconds since the snapshot was last loaded.");
      out.push("# TYPE switchyard_proxy_snapshot_age_seconds gauge");
      out.push(`switchyard_proxy_snapshot_age_seconds ${((now - this.snapshotLoadedAt) / 1000).toFixed(3)}`);
    }
    return out.join("\n") + "\n";
  }
}
