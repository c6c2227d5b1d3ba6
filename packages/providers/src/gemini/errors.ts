import { classifyUpstreamError, EMPTY_PROVIDER_ERROR, kindOfStatus, type ParsedProviderError } from "../errors";
import type { UpstreamErrorInfo, UpstreamErrorKind } from "../types";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Google's error envelope: `{"error":{"code","message","status","details":[{"@type",…}]}}`. */
export interface GeminiErrorBody {
  code: number | null;
  message: string | null;
  /** The google.rpc status name, e.g. RESOURCE_EXHAUSTED. */
  status: string | null;
  details: Json[];
}

/**
 * Reads Google's error envelope from a parsed body. Streaming endpoints may wrap it in
 * an array (`[{"error":…}]`), so the first element is used then.
 */
export function readGeminiErrorBody(body: unknown): GeminiErrorBody | null {
  const root = Array.isArray(body) ? (body[0] as unknown) : body;
  if (!isObject(root) || !isObject(root.error)) return null;
  const e = root.error;
  return {
    code: typeof e.code === "number" ? e.code : null,
    message: typeof e.message === "string" ? e.message : null,
    status: typeof e.status === "string" ? e.status : null,
    details: Array.isArray(e.details) ? e.details.filter(isObject) : [],
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

const TOKEN_LIMIT = /token count|exceeds the maximum number of tokens|too many tokens|context (?:length|window)|input is too long/i;

/** The kind Google's status name (and a few well-known reasons) means. */
function kindOf(httpStatus: number, e: GeminiErrorBody): UpstreamErrorKind {
  const reasons = e.details.map((d) => (typeof d.reason === "string" ? d.reason : ""));
  switch (e.status) {
    case "RESOURCE_EXHAUSTED":
      return "rate_limited";
    case "UNAVAILABLE":
      return "overloaded";
    case "DEADLINE_EXCEEDED":
      return "timeout";
    case "INTERNAL":
    case "UNKNOWN":
      return "server_error";
    case "UNAUTHENTICATED":
      return "auth";
    case "PERMISSION_DENIED":
      return "permission";
    case "NOT_FOUND":
      return "not_found";
    // Billing not enabled, region not supported: the gateway's account, not the client's request.
    case "FAILED_PRECONDITION":
      return "permission";
    case "INVALID_ARGUMENT":
      // A bad API key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID at Gemini.
      if (reasons.includes("API_KEY_INVALID") || /api key not valid/i.test(e.message ?? "")) return "auth";
      return TOKEN_LIMIT.test(e.message ?? "") ? "context_length_exceeded" : "invalid_request";
    default:
      return kindOfStatus(httpStatus);
  }
}

/**
 * Google's error fields as the shared shape: `code` is the google.rpc status name
 * (RESOURCE_EXHAUSTED, …), or OpenAI's `context_length_exceeded` when that is what it
 * means (clients branch on it); `type` stays null so the client gets the gateway's
 * OpenAI type for the kind.
 */
export function parseGeminiError(body: unknown): ParsedProviderError {
  const e = readGeminiErrorBody(body);
  if (!e) return EMPTY_PROVIDER_ERROR;
  const kind = kindOf(e.code ?? 0, e);
  return { message: e.message, type: null, code: kind === "context_length_exceeded" ? "context_length_exceeded" : e.status, param: null };
}

/** "34.4s" → 34.4; Google's Duration JSON is always seconds with an `s` suffix. */
function durationSeconds(v: unknown): number | null {
  if (typeof v !== "string") return null;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(v.trim());
  return m ? Number(m[1]) : null;
}

/**
 * Seconds to wait from a 429's `google.rpc.RetryInfo.retryDelay` (Gemini sends no
 * Retry-After header), rounded up as Retry-After wants whole seconds; null when absent.
 */
export function geminiRetryAfterSeconds(bodyText: string): number | null {
  const e = readGeminiErrorBody(parseJson(bodyText));
  const info = e?.details.find((d) => typeof d["@type"] === "string" && d["@type"].endsWith("google.rpc.RetryInfo"));
  const seconds = durationSeconds(info?.retryDelay);
  return seconds === null ? null : Math.ceil(seconds);
}

export function classifyGeminiError(status: number, bodyText: string): UpstreamErrorInfo {
  const body = parseJson(bodyText);
  const e = readGeminiErrorBody(body);
  if (!e) return classifyUpstreamError(status, EMPTY_PROVIDER_ERROR);
  return { ...classifyUpstreamError(status, parseGeminiError(body), kindOf(status, e)), retryAfterSeconds: geminiRetryAfterSeconds(bodyText) };
}
