/**
 * The explorer's row summary: a stored request-log row turned into the shared log line
 * (`formatLogLine` in @switchyard/contracts, the proxy's format).
 */
import { formatLogLine } from "@switchyard/contracts";

export { formatLogLine, formatUsdShort, type LogLineFacts } from "@switchyard/contracts";

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
