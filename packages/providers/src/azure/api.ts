import { resolveBaseUrl } from "../openai";
import type { UpstreamTarget } from "../types";

/** The GA data-plane version used when the credential names none. */
export const AZURE_DEFAULT_API_VERSION = "2024-10-21";

/**
 * Two URL styles, chosen by the configured base URL:
 * - `https://NAME.openai.azure.com` (optionally ending in `/openai`): the classic
 *   per-deployment path, `upstreamModel` is the deployment name, `api-version` is required.
 * - `https://NAME.openai.azure.com/openai/v1`: the v1 API, OpenAI's own paths with the
 *   deployment name as `model`; it needs no api-version, so one is sent only when configured.
 */
export function azureChatUrl(target: UpstreamTarget): string {
  const base = resolveBaseUrl(target, null).replace(/\/+$/, "");
  if (/\/openai\/v1$/.test(base)) {
    return target.apiVersion ? `${base}/chat/completions?api-version=${encodeURIComponent(target.apiVersion)}` : `${base}/chat/completions`;
  }
  const root = base.replace(/\/openai$/, "");
  const version = encodeURIComponent(target.apiVersion ?? AZURE_DEFAULT_API_VERSION);
  return `${root}/openai/deployments/${encodeURIComponent(target.upstreamModel)}/chat/completions?api-version=${version}`;
}

/** Azure keys go in `api-key`, not `Authorization` (which Azure reserves for Entra ID tokens). */
export function azureHeaders(target: UpstreamTarget, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: stream ? "text/event-stream" : "application/json",
  };
  if (target.apiKey) headers["api-key"] = target.apiKey;
  return headers;
}
