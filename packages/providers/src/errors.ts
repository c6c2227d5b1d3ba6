import type { UpstreamErrorInfo, UpstreamErrorKind } from "./types";

/** The provider's own error fields, as each adapter reads them from its error body. */
export interface ParsedProviderError {
  message: string | null;
  type: string | null;
  code: string | null;
  param: string | null;
}

export const EMPTY_PROVIDER_ERROR: ParsedProviderError = { message: null, type: null, code: null, param: null };

const CONTEXT_LENGTH = /context[ _-]?length|context window|maximum context|too many tokens|prompt is too long|input is too long|exceeds the (?:maximum|max)/i;
const CONTENT_FILTER = /content[ _-]?(?:filter|management|policy)|safety|responsible ?ai|blocked/i;

/** The kind an HTTP status means when the body says nothing more specific. */
export function kindOfStatus(status: number): UpstreamErrorKind {
  if (status === 401) return "auth";
  if (status === 403) return "permission";
  if (status === 404) return "not_found";
  if (status === 408 || status === 504) return "timeout";
  if (status === 429) return "rate_limited";
  if (status === 503 || status === 529) return "overloaded";
  if (status >= 500) return "server_error";
  return "invalid_request";
}

/** Which retries help: the retry and failover logic keys off `retryable` and `kind`. */
const RETRYABLE: ReadonlySet<UpstreamErrorKind> = new Set(["rate_limited", "overloaded", "server_error", "timeout"]);

/**
 * What the gateway answers for each kind. The client's own mistakes keep the
 * provider's status; a provider 401/403 is about OUR provider key, not the client's
 * virtual key, so it becomes a 502 (a 401 would tell the client its own key is bad).
 */
function clientStatusFor(kind: UpstreamErrorKind, upstreamStatus: number): number {
  switch (kind) {
    case "auth":
    case "permission":
    case "server_error":
      return 502;
    case "overloaded":
      return 503;
    case "timeout":
      return 504;
    case "rate_limited":
      return 429;
    case "not_found":
      return 404;
    case "content_filtered":
    case "context_length_exceeded":
      return 400;
    case "invalid_request":
      return upstreamStatus >= 400 && upstreamStatus < 500 ? upstreamStatus : 400;
  }
}

/**
 * Classifies an upstream error into the small typed set the retry logic uses.
 * `kind` lets an adapter that knows better (Anthropic's `overloaded_error`, Gemini's
 * `RESOURCE_EXHAUSTED`) decide; otherwise the status and the message decide.
 */
export function classifyUpstreamError(
  upstreamStatus: number,
  parsed: ParsedProviderError,
  kind?: UpstreamErrorKind,
): UpstreamErrorInfo {
  let k = kind ?? kindOfStatus(upstreamStatus);
  if (!kind && k === "invalid_request") {
    const text = `${parsed.code ?? ""} ${parsed.type ?? ""} ${parsed.message ?? ""}`;
    if (CONTEXT_LENGTH.test(text)) k = "context_length_exceeded";
    else if (CONTENT_FILTER.test(`${parsed.code ?? ""} ${parsed.type ?? ""}`)) k = "content_filtered";
  }
  return {
    kind: k,
    upstreamStatus,
    clientStatus: clientStatusFor(k, upstreamStatus),
    retryable: RETRYABLE.has(k),
    errorClass: `upstream_${k}`,
    ...parsed,
  };
}
