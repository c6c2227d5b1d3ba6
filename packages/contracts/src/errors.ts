/**
 * One error type per boundary: every failure the gateway reports has a code, and the
 * code alone decides the HTTP status and the OpenAI error `type`.
 */
export const errorCodes = {
  invalid_request: { status: 400, type: "invalid_request_error" },
  invalid_json: { status: 400, type: "invalid_request_error" },
  invalid_api_key: { status: 401, type: "authentication_error" },
  model_not_allowed: { status: 403, type: "permission_error" },
  not_found: { status: 404, type: "invalid_request_error" },
  model_not_found: { status: 404, type: "invalid_request_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  request_too_large: { status: 413, type: "invalid_request_error" },
  rate_limit_exceeded: { status: 429, type: "rate_limit_error" },
  budget_exceeded: { status: 429, type: "insufficient_quota" },
  /** Rate limits or budgets cannot be checked (Redis down) and PROXY_LIMITS_FAIL_MODE=closed. */
  limits_unavailable: { status: 503, type: "api_error" },
  internal_error: { status: 500, type: "api_error" },
  upstream_error: { status: 502, type: "upstream_error" },
  upstream_unavailable: { status: 503, type: "upstream_error" },
  upstream_timeout: { status: 504, type: "upstream_error" },
  forbidden: { status: 403, type: "permission_error" },
  unauthorized: { status: 401, type: "authentication_error" },
  conflict: { status: 409, type: "invalid_request_error" },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { param?: string | null; headers?: Record<string, string>; status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.status = opts.status ?? errorCodes[code].status;
    this.param = opts.param ?? null;
    this.headers = opts.headers ?? {};
  }
}

/** The OpenAI error body: `{"error":{"message","type","code","param"}}`. */
export function toOpenAiErrorBody(err: AppError) {
  return {
    error: { message: err.message, type: errorCodes[err.code].type, code: err.code, param: err.param },
  };
}
