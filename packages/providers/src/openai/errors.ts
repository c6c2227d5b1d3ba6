import { classifyUpstreamError, type ParsedProviderError } from "../errors";
import type { UpstreamErrorInfo } from "../types";


const str = (v: unknown): string | null => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null);

/** Reads `{"error":{"message","type","code","param"}}` (also a bare string `error`). */
export function parseOpenAiErrorBody(bodyText: string): ParsedProviderError {
  const empty: ParsedProviderError = { message: null, type: null, code: null, param: null };
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

/** OpenAI's error body decides nothing the status does not; the shared rules classify it. */
export function classifyOpenAiError(status: number, bodyText: string): UpstreamErrorInfo {
  return classifyUpstreamError(status, parseOpenAiErrorBody(bodyText));
}
