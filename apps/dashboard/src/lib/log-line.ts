/**
 * The one-line, human-readable summary of a request, in the proxy's log-line format
 * (apps/proxy/src/log-line.ts, `formatLogLine`):
 *
 *   POST /v1/chat/completions → claude-sonnet-4 via anthropic | 2,847 in + 612 out tokens | $0.0177 | cache miss | TTFT 412 ms | 1,247 ms | stream
 *
 * `formatLogLine` and `formatUsdShort` here give the proxy's output for the same facts;
 * the one difference is that the request log does not keep the stream's chunk count,
 * so a logged stream reads "stream" instead of "stream 73 chunks" (`chunks: null`).
 * The dashboard may not import apps/proxy; the two belong in one package.
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

const int = (n: number | bigint) => n.toLocaleString("en-US");

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

const ENDPOINT_PATHS: Record<string, string> = {
  "chat.completions": "/v1/chat/completions",
  embeddings: "/v1/embeddings",
  messages: "/v1/messages",
};

/** "chat.completions" → "POST /v1/chat/completions". */
export function endpointPath(endpoint: string): string {
  const path = ENDPOINT_PATHS[endpoint];
  return path ? `POST ${path}` : endpoint;
}

/** "0.017721000" (exact decimal USD, as the routers send money) → 17721000n. */
export function decimalUsdToNano(usd: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?$/.exec(usd);
  if (!m) throw new Error(`not a decimal USD amount: "${usd}"`);
  const nano = BigInt(m[2] ?? "0") * 1_000_000_000n + BigInt((m[3] ?? "").padEnd(9, "0"));
  return m[1] === "-" ? -nano : nano;
}

/** A request-log row as the explorer receives it. */
export interface RequestLineRow {
  endpoint: string;
  requestedModel: string;
  servedModel: string | null;
  provider: string | null;
  status: number;
  errorClass: string | null;
  inputTokens: number;
  outputTokens: number;
  /** true when the provider gave no usage and the tokens were estimated. */
  estimated: boolean;
  /** Exact decimal USD; null = unpriced. */
  costUsd: string | null;
  cacheStatus: string;
  ttftMs: number | null;
  latencyMs: number;
  stream: boolean;
}

/** The log line of a stored request. */
export function formatRequestLine(r: RequestLineRow): string {
  const path = ENDPOINT_PATHS[r.endpoint];
  return formatLogLine({
    method: path ? "POST" : "",
    path: path ?? r.endpoint,
    status: r.status,
    errorClass: r.errorClass,
    requestedModel: r.requestedModel,
    servedModel: r.servedModel,
    provider: r.provider,
    inputTokens: r.inputTokens,
    outputTokens: r.outputTokens,
    usageSource: r.estimated ? "estimated" : "provider",
    costNanoUsd: r.costUsd === null ? null : decimalUsdToNano(r.costUsd),
    cacheStatus: r.cacheStatus,
    ttftMs: r.ttftMs,
    latencyMs: r.latencyMs,
    stream: r.stream,
    chunks: null,
  }).trimStart();
}
