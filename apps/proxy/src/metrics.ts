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

export class ProxyMetrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly unpriced = new Map<string, number>();
  private readonly upstreamLatency = new Map<string, Histogram>();
  private readonly snapshotReloads = { ok: 0, error: 0 };
  private spoolEvents = 0;
  private readonly limited = { rate_limit: 0, budget: 0 };
  private readonly limitsErrors = new Map<string, number>();
  private snapshotLoadedAt: number | null = null;

  countRequest(status: number, model: string, endpoint: string): void {
    const l = { endpoint, model, status: String(status) };
    const key = `${endpoint}\u0000${model}\u0000${status}`;
    const entry = this.requests.get(key);
    if (entry) entry.value++;
    else this.requests.set(key, { labels: l, value: 1 });
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

  /** A limits command that failed (Redis down, timeout); `op` is consume, reserve, settle or correct. */
  countLimitsError(op: "consume" | "reserve" | "settle" | "correct"): void {
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
    for (const { labels: l, value } of this.requests.values()) out.push(`switchyard_proxy_requests_total${labels(l)} ${value}`);

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

    out.push("# HELP switchyard_limits_errors_total Rate-limit and budget commands that failed (Redis unreachable or slow), by operation.");
    out.push("# TYPE switchyard_limits_errors_total counter");
    for (const [op, v] of this.limitsErrors) out.push(`switchyard_limits_errors_total${labels({ op })} ${v}`);

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
