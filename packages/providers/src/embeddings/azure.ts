import { AZURE_DEFAULT_API_VERSION, azureHeaders } from "../azure/api";
import { resolveBaseUrl } from "../openai/api";
import type { UpstreamTarget } from "../types";
import { extractOpenAiEmbeddingUsage, openAiEmbeddingBody } from "./openai";
import { encodingFormatOf } from "./shared";
import type { EmbeddingAdapter } from "./types";

/**
 * The same two URL styles as Azure chat: the classic per-deployment path
 * (`${base}/openai/deployments/${deployment}/embeddings?api-version=…`) or the v1 API
 * (`${base}/openai/v1/embeddings`, deployment as `model`, api-version only if configured).
 */
export function azureEmbeddingsUrl(target: UpstreamTarget): string {
  const base = resolveBaseUrl(target, null).replace(/\/+$/, "");
  if (/\/openai\/v1$/.test(base)) {
    return target.apiVersion ? `${base}/embeddings?api-version=${encodeURIComponent(target.apiVersion)}` : `${base}/embeddings`;
  }
  const root = base.replace(/\/openai$/, "");
  const version = encodeURIComponent(target.apiVersion ?? AZURE_DEFAULT_API_VERSION);
  return `${root}/openai/deployments/${encodeURIComponent(target.upstreamModel)}/embeddings?api-version=${version}`;
}

/** Azure OpenAI: OpenAI's body and reply (base64 and dimensions included), `api-key` auth. */
export const azureEmbeddings: EmbeddingAdapter = {
  types: ["azure"],
  defaultBaseUrl: null,
  reportsUsage: true,
  prepareEmbeddingRequest(request, target) {
    return {
      http: { url: azureEmbeddingsUrl(target), method: "POST", headers: azureHeaders(target, false), body: openAiEmbeddingBody(request, target.upstreamModel) },
      droppedParams: [],
      encodingFormat: encodingFormatOf(request),
    };
  },
  translateEmbeddingResponse: () => null,
  extractEmbeddingUsage: extractOpenAiEmbeddingUsage,
};
