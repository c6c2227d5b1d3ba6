/**
 * The request log line a person reads at a glance (the `msg` of the proxy's pino line):
 *
 *   POST /v1/chat/completions → claude-sonnet-4 via anthropic | 2,847 in + 612 out tokens | $0.0177 | cache miss | TTFT 412 ms | 1,247 ms | stream 73 chunks
 *
 * Pure: everything comes from the arguments. docs/request-log.md describes each part.
 */
import type { TokenUsage, UsageEvent } from "@switchyard/contracts";

export interface LogLineFacts {
  method: string;
  path: string;
  status: number;
  errorClass: string | null;
  /** What the client asked for (a model or a route alias); "" when it never said. */
  requestedModel: string;
  /** null: no model was resolved (nothing went to a provider). */
  servedModel: string | null;
  provider: string | null;
  usage: TokenUsage | null;
  usageSource: UsageEvent["usageSource"];
  /** null: the model has no price ("unpriced"). */
  costNanoUsd: bigint | null;
  cacheStatus: UsageEvent["cacheStatus"];
  ttftMs: number | null;
  latencyMs: number;
  stream: boolean;
  /** SSE events forwarded to the client. */
  chunks: number;
}

const int = (n: number | bigint) => n.toLocaleString("en-US");

/**
 * Dollars rounded half-up to 4 decimals ("$0.0177", "$1,234.5000"); a cost that would
 * round to $0.0000 keeps 2 significant digits instead ("$0.000022"), so a cheap request
 * never reads as free. Exactly zero is "$0.0000".
 */
export function formatUsdShort(nano: bigint): string {
  if (nano < 0n) return `-${formatUsdShort(-nano)}`;
  const tenThousandths = (nano + 50_000n) / 100_000n;
  if (tenThousandths > 0n || nano === 0n) {
    const frac = (tenThousandths % 10_000n).toString().padStart(4, "0");
    return `$${int(tenThousandths / 10_000n)}.${frac}`;
  }
  // Under $0.00005: two significant digits of the nano-dollars.
  const unit = 10n ** BigInt(Math.max(nano.toString().length - 2, 0));
  const rounded = ((nano + unit / 2n) / unit) * unit;
  const decimals = rounded.toString().padStart(9, "0").replace(/0+$/, "");
  return `$0.${decimals}`;
}

export function formatLogLine(f: LogLineFacts): string {
  let head = `${f.method} ${f.path}`;
  if (f.servedModel !== null) {
    head += ` → ${f.servedModel}${f.provider ? ` via ${f.provider}` : ""}`;
    if (f.requestedModel && f.requestedModel !== f.servedModel) head += ` (asked ${f.requestedModel})`;
  }
  const parts = [head];
  if (f.status >= 400 || f.errorClass) parts.push(f.errorClass ? `${f.status} ${f.errorClass}` : String(f.status));
  if (f.servedModel !== null) {
    const u = f.usage;
    const estimated = f.usageSource === "estimated" ? " (estimated)" : "";
    parts.push(`${int(u?.inputTokens ?? 0)} in + ${int(u?.outputTokens ?? 0)} out tokens${estimated}`);
    parts.push(f.costNanoUsd === null ? "unpriced" : formatUsdShort(f.costNanoUsd));
    parts.push(`cache ${f.cacheStatus}`);
  }
  if (f.ttftMs !== null) parts.push(`TTFT ${int(f.ttftMs)} ms`);
  parts.push(`${int(f.latencyMs)} ms`);
  if (f.stream) parts.push(`stream ${int(f.chunks)} chunk${f.chunks === 1 ? "" : "s"}`);
  return parts.join(" | ");
}
