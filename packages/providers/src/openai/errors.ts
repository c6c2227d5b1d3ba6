import type { UpstreamErrorInfo, UpstreamErrorKind } from "../types";

interface ParsedError {
  message: string | null;
  type: string | null;
  code: string | null;
  param: string | null;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null);

/** Reads `{"error":{"message","type","code","param"}}` (also a bare string `error`). */
export function parseOpenAiErrorBody(bodyText: string): ParsedError {
  const empty: ParsedError = { message: null, type: null, code: null, param: null };
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return empty;
  }
  if (typeof body !== "object" || body === null || !("error" in body)) return empty;
  const err = body.error;
  if (typeof err === "string") return { ...empty, message: err };
  if (typeof err !== "object" || err === null) return empty;
  const e = err as Record<string, unknown>;
  return { message: str(e.message), type: str(e.type), code: str(e.code), param: str(e.param) };
}

function kindOf(status: number): UpstreamErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 408) return "timeout";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server";
  if (status >= 400) return "invalid_request";
  return "other";
}

/**
 * What an upstream status means. The client's own mistakes (400, 404, 422…) pass
 * through with the provider's status and message. A 401/403 from the provider is
 * about OUR provider key, not the client's virtual key, so it becomes a 502: passing
 * a 401 through would tell the client its own key is bad.
 */
export function classifyOpenAiError(status: number, bodyText: string): UpstreamErrorInfo {
  const kind = kindOf(status);
  const parsed = parseOpenAiErrorBody(bodyText);
  const clientStatus =
    kind === "auth" || kind === "server" || kind === "other" ? 502 : kind === "timeout" ? 504 : status;
  return {
    kind,
    upstreamStatus: status,
    clientStatus,
    retryable: kind === "server" || kind === "rate_limited" || kind === "timeout",
    errorClass: kind === "server" ? "upstream_server_error" : `upstream_${kind}`,
    ...parsed,
  };
}
