import type { UpstreamTarget } from "../types";

export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

/** `${baseUrl}/chat/completions`, tolerant of a trailing slash in the configured base. */
export function openAiUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${path}`;
}

export function resolveBaseUrl(target: UpstreamTarget, defaultBaseUrl: string | null): string {
  const base = target.baseUrl ?? defaultBaseUrl;
  if (!base) throw new Error("this provider type needs a baseUrl");
  return base;
}

/** Only what the provider needs: the client's own headers (its virtual key!) never go upstream. */
export function openAiHeaders(target: UpstreamTarget, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
  };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return headers;
}
