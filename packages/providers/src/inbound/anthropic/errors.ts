/** Anthropic's error `type` for an HTTP status (what its SDKs and Claude Code branch on). */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
}

/** `{"type":"error","error":{"type","message"}}`, the body of every error on /v1/messages (and of a stream's `event: error`). */
export function anthropicErrorBody(status: number, message: string): AnthropicErrorBody {
  return { type: "error", error: { type: anthropicErrorType(status), message } };
}
