import { classifyUpstreamError, EMPTY_PROVIDER_ERROR, type ParsedProviderError } from "../errors";
import type { UpstreamErrorInfo, UpstreamErrorKind } from "../types";

/** Reads Anthropic's `{"type":"error","error":{"type","message"}}`; Anthropic has no code or param. */
export function parseAnthropicErrorBody(bodyText: string): ParsedProviderError {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return EMPTY_PROVIDER_ERROR;
  }
  return parseAnthropicError(body);
}

/** The same, over an already parsed body (also used for the stream's `error` event). */
export function parseAnthropicError(body: unknown): ParsedProviderError {
  if (typeof body !== "object" || body === null || !("error" in body)) return EMPTY_PROVIDER_ERROR;
  const err = body.error;
  if (typeof err !== "object" || err === null) return EMPTY_PROVIDER_ERROR;
  const e = err as Record<string, unknown>;
  return {
    message: typeof e.message === "string" ? e.message : null,
    type: typeof e.type === "string" ? e.type : null,
    code: null,
    param: null,
  };
}

/**
 * Anthropic's error type says more than its status (529 is "overloaded", not a plain
 * 5xx). `invalid_request_error` is left to the shared rules, which recognise
 * "prompt is too long" as context_length_exceeded.
 */
const KIND_OF_TYPE: Record<string, UpstreamErrorKind> = {
  overloaded_error: "overloaded",
  rate_limit_error: "rate_limited",
  authentication_error: "auth",
  permission_error: "permission",
  // Our account's billing problem, not the client's: like a permission failure (502).
  billing_error: "permission",
  not_found_error: "not_found",
  api_error: "server_error",
  timeout_error: "timeout",
};

export function classifyAnthropicError(status: number, bodyText: string): UpstreamErrorInfo {
  const parsed = parseAnthropicErrorBody(bodyText);
  const kind = (parsed.type ? KIND_OF_TYPE[parsed.type] : undefined) ?? (status === 529 ? "overloaded" : undefined);
  const info = classifyUpstreamError(status, parsed, kind);
  // OpenAI clients (LangChain, the SDKs' users) look for this code to trim their history.
  if (info.kind === "context_length_exceeded") return { ...info, code: "context_length_exceeded" };
  return info;
}
