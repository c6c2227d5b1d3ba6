/**
 * The proxy's request log line (the `msg` of its pino line), in the shared format of
 * @switchyard/contracts `formatLogLine`, from the facts the proxy has at the end of a
 * request (its usage object, the stream's forwarded chunk count).
 */
import { formatLogLine as formatSummary, type TokenUsage, type UsageEvent } from "@switchyard/contracts";

export { formatUsdShort } from "@switchyard/contracts";

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

export function formatLogLine(f: LogLineFacts): string {
  const { usage, ...rest } = f;
  return formatSummary({ ...rest, inputTokens: usage?.inputTokens ?? 0, outputTokens: usage?.outputTokens ?? 0 });
}
