/**
 * The one-line summary of a request a person reads at a glance; the proxy's JSON log
 * line carries it as `msg` and the dashboard's request explorer shows it per row:
 *
 *   POST /v1/chat/completions → claude-sonnet-4 via anthropic | 2,847 in + 612 out tokens | $0.0177 | cache miss | TTFT 412 ms | 1,247 ms | stream 73 chunks
 *
 * Pure; docs/request-log.md describes each part. The request log does not keep a
 * stream's chunk count, so a stored stream reads "stream" (`chunks: null`).
 */
export interface LogLineFacts {
  method: string;
  path: string;
  status: number;
  errorClass: string | null;
  requestedModel: string;
  /** null: no model was resolved (nothing went to a provider). */
  servedModel: string | null;
  provider: string | null;
  inputTokens: number;
  outputTokens: number;
  usageSource: string;
  /** null: unpriced, never $0. */
  costNanoUsd: bigint | null;
  cacheStatus: string;
  ttftMs: number | null;
  latencyMs: number;
  stream: boolean;
  /** SSE events forwarded; null when not known (the request log does not keep it). */
  chunks: number | null;
}

/** 1234567 → "1,234,567" (toLocaleString does the same at ~50× the cost: this runs for every request's log line). */
const int = (n: number | bigint): string => {
  if (typeof n === "number" && !Number.isSafeInteger(n)) return n.toLocaleString("en-US");
  const digits = n.toString();
  const neg = digits.startsWith("-");
  const d = neg ? digits.slice(1) : digits;
  if (d.length <= 3) return digits;
  let out = d.slice(0, d.length % 3 || 3);
  for (let i = out.length; i < d.length; i += 3) out += `,${d.slice(i, i + 3)}`;
  return neg ? `-${out}` : out;
};

/**
 * Dollars rounded half-up to 4 decimals ("$0.0177"); a cost that would round to $0.0000
 * keeps 2 significant digits ("$0.000022") so a cheap request never reads as free.
 */
export function formatUsdShort(nano: bigint): string {
  if (nano < 0n) return `-${formatUsdShort(-nano)}`;
  const tenThousandths = (nano + 50_000n) / 100_000n;
  if (tenThousandths > 0n || nano === 0n)
    return `$${int(tenThousandths / 10_000n)}.${(tenThousandths % 10_000n).toString().padStart(4, "0")}`;
  const unit = 10n ** BigInt(Math.max(nano.toString().length - 2, 0));
  const rounded = ((nano + unit / 2n) / unit) * unit;
  return `$0.${rounded.toString().padStart(9, "0").replace(/0+$/, "")}`;
}

export function formatLogLine(f: LogLineFacts): string {
  let head = `${f.method} ${f.path}`;
  if (f.servedModel !== null) {
    head += ` → ${f.servedModel}${f.provider ? ` via ${f.provider}` : ""}`;
    if (f.requestedModel && f.requestedModel !== f.servedModel)
      head += ` (asked ${f.requestedModel})`;
  }
  const parts = [head];
  if (f.status >= 400 || f.errorClass)
    parts.push(f.errorClass ? `${f.status} ${f.errorClass}` : String(f.status));
  if (f.servedModel !== null) {
    const estimated = f.usageSource === "estimated" ? " (estimated)" : "";
    parts.push(`${int(f.inputTokens)} in + ${int(f.outputTokens)} out tokens${estimated}`);
    parts.push(f.costNanoUsd === null ? "unpriced" : formatUsdShort(f.costNanoUsd));
    parts.push(`cache ${f.cacheStatus}`);
  }
  if (f.ttftMs !== null) parts.push(`TTFT ${int(f.ttftMs)} ms`);
  parts.push(`${int(f.latencyMs)} ms`);
  if (f.stream)
    parts.push(
      f.chunks === null ? "stream" : `stream ${int(f.chunks)} chunk${f.chunks === 1 ? "" : "s"}`,
    );
  return parts.join(" | ");
}

