import { classifyUpstreamError, EMPTY_PROVIDER_ERROR, type ParsedProviderError } from "../errors";
import { parseOpenAiErrorBody } from "../openai";
import type { UpstreamErrorInfo } from "../types";

const str = (v: unknown): string | null => (typeof v === "string" ? v : typeof v === "number" ? String(v) : null);

/** FastAPI-style validation details (`[{loc, msg}]`) as one readable line. */
function detailMessage(detail: unknown): string | null {
  if (typeof detail === "string") return detail;
  if (!Array.isArray(detail)) return null;
  return (detail as { loc?: unknown; msg?: unknown }[])
    .map((d) => `${Array.isArray(d.loc) ? d.loc.join(".") : ""}: ${str(d.msg) ?? "invalid"}`)
    .join("; ");
}

/**
 * Mistral's error bodies come in three shapes: `{"object":"error","message",…}` (the
 * message may itself be `{detail:[…]}`), a bare FastAPI `{"detail":[…]}` for 422s, and
 * `{"message":"Unauthorized","request_id"}` from its gateway.
 */
export function parseMistralErrorBody(bodyText: string): ParsedProviderError {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return EMPTY_PROVIDER_ERROR;
  }
  if (typeof body !== "object" || body === null) return EMPTY_PROVIDER_ERROR;
  if ("error" in body) return parseOpenAiErrorBody(bodyText);
  const b = body as Record<string, unknown>;
  const message =
    typeof b.message === "object" && b.message !== null
      ? detailMessage((b.message as { detail?: unknown }).detail)
      : (str(b.message) ?? detailMessage(b.detail));
  return { message, type: str(b.type), code: str(b.code), param: str(b.param) };
}

export function classifyMistralError(status: number, bodyText: string): UpstreamErrorInfo {
  return classifyUpstreamError(status, parseMistralErrorBody(bodyText));
}
