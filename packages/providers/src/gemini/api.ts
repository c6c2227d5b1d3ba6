import type { UpstreamTarget } from "../types";

export const GEMINI_DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta";

/**
 * `${base}/models/<model>:generateContent`, or `:streamGenerateContent?alt=sse` for
 * streams (without `alt=sse` Gemini streams one big JSON array instead of SSE).
 */
export function geminiUrl(baseUrl: string, upstreamModel: string, stream: boolean): string {
  // A model configured as "models/gemini-x" (the form ListModels returns) must not double the prefix.
  const model = encodeURIComponent(upstreamModel.replace(/^models\//, ""));
  const base = `${baseUrl.replace(/\/+$/, "")}/models/${model}`;
  return stream ? `${base}:streamGenerateContent?alt=sse` : `${base}:generateContent`;
}

/** The key goes in `x-goog-api-key`, never in the URL (URLs end up in logs). */
export function geminiHeaders(target: UpstreamTarget, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
  };
  if (target.apiKey) headers["x-goog-api-key"] = target.apiKey;
  return headers;
}
