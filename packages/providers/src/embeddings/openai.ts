import type { TokenUsage } from "@switchyard/contracts";
import { OPENAI_DEFAULT_BASE_URL, openAiHeaders, openAiUrl, resolveBaseUrl } from "../openai/api";
import { encodingFormatOf, isRecord, usageOfInputTokens } from "./shared";
import type { EmbeddingAdapter, EmbeddingRequest } from "./types";

/** `usage.prompt_tokens` of an OpenAI-shaped embeddings reply. */
export function extractOpenAiEmbeddingUsage(body: unknown): TokenUsage | null {
  if (!isRecord(body) || !isRecord(body.usage)) return null;
  const tokens = body.usage.prompt_tokens ?? body.usage.total_tokens;
  return typeof tokens === "number" && Number.isInteger(tokens) && tokens >= 0 ? usageOfInputTokens(tokens) : null;
}

/** The client's body with the provider's model name; every other field (dimensions, encoding_format, user) passes as is. */
export function openAiEmbeddingBody(request: EmbeddingRequest, upstreamModel: string): string {
  return JSON.stringify({ ...request, model: upstreamModel });
}

function openAiFamilyEmbeddings(types: EmbeddingAdapter["types"], defaultBaseUrl: string | null): EmbeddingAdapter {
  return {
    types,
    defaultBaseUrl,
    reportsUsage: true,
    prepareEmbeddingRequest(request, target) {
      return {
        http: {
          url: openAiUrl(resolveBaseUrl(target, defaultBaseUrl), "/embeddings"),
          method: "POST",
          headers: openAiHeaders(target, false),
          body: openAiEmbeddingBody(request, target.upstreamModel),
        },
        droppedParams: [],
        encodingFormat: encodingFormatOf(request),
      };
    },
    // Same wire format (base64 included): the reply is forwarded byte for byte.
    translateEmbeddingResponse: () => null,
    extractEmbeddingUsage: extractOpenAiEmbeddingUsage,
  };
}

export const openAiEmbeddings = openAiFamilyEmbeddings(["openai"], OPENAI_DEFAULT_BASE_URL);
/** vLLM, Ollama, Together, …: OpenAI's embeddings route under their own base URL. */
export const openAiCompatibleEmbeddings = openAiFamilyEmbeddings(["openai-compatible"], null);
