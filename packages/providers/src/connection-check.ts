import { ANTHROPIC_DEFAULT_BASE_URL, anthropicHeaders } from "./anthropic/api";
import { AZURE_DEFAULT_API_VERSION, azureHeaders } from "./azure/api";
import { COHERE_DEFAULT_BASE_URL } from "./cohere/api";
import { GEMINI_DEFAULT_BASE_URL, geminiHeaders } from "./gemini/api";
import { MISTRAL_DEFAULT_BASE_URL } from "./mistral/api";
import { OPENAI_DEFAULT_BASE_URL, openAiHeaders, openAiUrl, resolveBaseUrl } from "./openai/api";
import type { UpstreamHttpRequest, UpstreamTarget } from "./types";

/** A provider connection and one of its keys, as "Test connection" checks them. */
export type ConnectionCheckTarget = Omit<UpstreamTarget, "upstreamModel">;

/** A GET carries no body: the adapters' JSON content-type does not belong on it. */
function asGet(url: string, headers: Record<string, string>): UpstreamHttpRequest {
  const { "content-type": _contentType, ...rest } = headers;
  return { url, method: "GET", headers: rest, body: "" };
}

/** The adapters' header builders want an UpstreamTarget; a listing names no model. */
const asTarget = (t: ConnectionCheckTarget): UpstreamTarget => ({ ...t, upstreamModel: "" });

/**
 * A free request that proves a key works: each provider's list-models call, which
 * costs no tokens and needs the same credential as chat. null for a type this
 * gateway does not know. Throws when the type needs a baseUrl and none is set.
 *
 * - openai, openai-compatible, mistral: `GET {base}/models`, Bearer.
 * - azure: `GET {root}/openai/models?api-version=…` with `api-key`; for a
 *   `…/openai/v1` base, `GET {base}/models` (the v1 API needs no api-version).
 * - anthropic: `GET {base}/models` with x-api-key and anthropic-version.
 * - gemini: `GET {base}/models` with x-goog-api-key.
 * - cohere: list-models exists only in Cohere's v1 API (`GET /v1/models`, Bearer;
 *   docs.cohere.com/reference/list-models), while chat uses v2: a base ending in
 *   /v2 is checked at the sibling /v1/models, any other base at `{base}/models`.
 */
export function prepareConnectionCheck(type: string, target: ConnectionCheckTarget): UpstreamHttpRequest | null {
  const t = asTarget(target);
  switch (type) {
    case "openai":
      return asGet(openAiUrl(resolveBaseUrl(t, OPENAI_DEFAULT_BASE_URL), "/models"), openAiHeaders(t, false));
    case "openai-compatible":
      return asGet(openAiUrl(resolveBaseUrl(t, null), "/models"), openAiHeaders(t, false));
    case "mistral":
      return asGet(openAiUrl(resolveBaseUrl(t, MISTRAL_DEFAULT_BASE_URL), "/models"), openAiHeaders(t, false));
    case "anthropic":
      return asGet(openAiUrl(resolveBaseUrl(t, ANTHROPIC_DEFAULT_BASE_URL), "/models"), anthropicHeaders(t, false));
    case "gemini":
      return asGet(openAiUrl(resolveBaseUrl(t, GEMINI_DEFAULT_BASE_URL), "/models"), geminiHeaders(t, false));
    case "cohere": {
      const base = resolveBaseUrl(t, COHERE_DEFAULT_BASE_URL).replace(/\/+$/, "").replace(/\/v2$/, "/v1");
      return asGet(openAiUrl(base, "/models"), openAiHeaders(t, false));
    }
    case "azure": {
      // The same two URL styles as azureChatUrl (azure/api.ts), for the models listing.
      const base = resolveBaseUrl(t, null).replace(/\/+$/, "");
      const version = t.apiVersion ?? null;
      const url = /\/openai\/v1$/.test(base)
        ? `${base}/models${version ? `?api-version=${encodeURIComponent(version)}` : ""}`
        : `${base.replace(/\/openai$/, "")}/openai/models?api-version=${encodeURIComponent(version ?? AZURE_DEFAULT_API_VERSION)}`;
      return asGet(url, azureHeaders(t, false));
    }
    default:
      return null;
  }
}

/**
 * The provider's own error message from a failed check's body, whatever its shape
 * (OpenAI/Azure/Mistral/Gemini `{error:{message}}`, Anthropic `{type:"error",error:{message}}`,
 * Cohere `{message}`, FastAPI-style `{detail}`), else the start of the body. `secret`
 * is cut out wherever it appears: some servers echo the key they refused.
 */
export function connectionCheckErrorMessage(status: number, bodyText: string, secret: string | null): string {
  let message: string | null;
  try {
    const body = JSON.parse(bodyText) as unknown;
    message = findMessage(body);
  } catch {
    message = bodyText.trim() || null;
  }
  let text = message ? `HTTP ${status}: ${message}` : `HTTP ${status}`;
  if (secret) text = text.split(secret).join("[redacted]");
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

function findMessage(body: unknown): string | null {
  if (typeof body === "string") return body || null;
  if (Array.isArray(body)) return body.length > 0 ? findMessage(body[0]) : null;
  if (typeof body !== "object" || body === null) return null;
  const o = body as Record<string, unknown>;
  for (const k of ["error", "message", "detail"]) {
    const v = o[k];
    const found = typeof v === "string" ? v || null : findMessage(v);
    if (found) return found;
  }
  return null;
}
