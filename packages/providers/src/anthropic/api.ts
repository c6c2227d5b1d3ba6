import type { UpstreamTarget } from "../types";

export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com/v1";
/** The Messages API version every request pins; Anthropic rejects requests without one. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** `${base}/messages`; configured base URLs already end in /v1. A trailing slash is tolerated. */
export function anthropicMessagesUrl(target: UpstreamTarget): string {
  const base = target.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL;
  return `${base.replace(/\/+$/, "")}/messages`;
}

/** Only what Anthropic needs: the client's own headers (its virtual key!) never go upstream. */
export function anthropicHeaders(target: UpstreamTarget, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
    "anthropic-version": target.apiVersion ?? ANTHROPIC_VERSION,
  };
  if (target.apiKey) headers["x-api-key"] = target.apiKey;
  return headers;
}
