import { classifyUpstreamError, EMPTY_PROVIDER_ERROR, type ParsedProviderError } from "../errors";
import type { UpstreamErrorInfo, UpstreamErrorKind } from "../types";

/** Cohere's error envelope is `{"id": "...", "message": "..."}` (no type or code). */
export function parseCohereErrorBody(bodyText: string): ParsedProviderError {
  try {
    const body = JSON.parse(bodyText) as { message?: unknown };
    return typeof body.message === "string" ? { ...EMPTY_PROVIDER_ERROR, message: body.message } : EMPTY_PROVIDER_ERROR;
  } catch {
    return EMPTY_PROVIDER_ERROR;
  }
}

/**
 * Cohere's own statuses: 402 (billing on our account) is a permission problem, 498
 * (invalid token) is auth, 499 (request cancelled upstream) is worth retrying.
 */
const COHERE_STATUS: Record<number, UpstreamErrorKind> = { 402: "permission", 498: "auth", 499: "server_error" };

export function classifyCohereError(status: number, bodyText: string): UpstreamErrorInfo {
  return classifyUpstreamError(status, parseCohereErrorBody(bodyText), COHERE_STATUS[status]);
}
