import type { TokenUsage } from "@switchyard/contracts";
import { COHERE_DEFAULT_BASE_URL } from "../cohere/api";
import { openAiHeaders, openAiUrl, resolveBaseUrl } from "../openai/api";
import { encodingFormatOf, inputTexts, isRecord, toOpenAiList, usageOfInputTokens } from "./shared";
import type { EmbeddingAdapter } from "./types";

const INPUT_TYPES = new Set(["search_document", "search_query", "classification", "clustering"]);

/** `meta.billed_units.input_tokens` of a Cohere embed reply. */
export function extractCohereEmbeddingUsage(body: unknown): TokenUsage | null {
  if (!isRecord(body) || !isRecord(body.meta) || !isRecord(body.meta.billed_units)) return null;
  const tokens = body.meta.billed_units.input_tokens;
  return typeof tokens === "number" && Number.isInteger(tokens) && tokens >= 0 ? usageOfInputTokens(tokens) : null;
}

/**
 * Cohere `POST /v2/embed`: `texts`, `embedding_types: ["float"]`, `input_type`
 * (required by v3+ models; OpenAI has no equivalent, so `search_document` unless the
 * client sends Cohere's `input_type` as an extension), `dimensions` → `output_dimension`.
 * The reply is `{embeddings: {float: [[…]]}, meta: {billed_units: {input_tokens}}}`.
 */
export const cohereEmbeddings: EmbeddingAdapter = {
  types: ["cohere"],
  defaultBaseUrl: COHERE_DEFAULT_BASE_URL,
  reportsUsage: true,
  prepareEmbeddingRequest(request, target) {
    const inputType = typeof request.input_type === "string" && INPUT_TYPES.has(request.input_type) ? request.input_type : "search_document";
    const body: Record<string, unknown> = {
      model: target.upstreamModel,
      texts: inputTexts(request, "Cohere"),
      input_type: inputType,
      embedding_types: ["float"],
    };
    if (request.dimensions !== undefined) body.output_dimension = request.dimensions;
    return {
      http: { url: openAiUrl(resolveBaseUrl(target, COHERE_DEFAULT_BASE_URL), "/embed"), method: "POST", headers: openAiHeaders(target, false), body: JSON.stringify(body) },
      droppedParams: request.user !== undefined ? ["user"] : [],
      encodingFormat: encodingFormatOf(request),
    };
  },
  translateEmbeddingResponse(body, ctx) {
    const byType = isRecord(body) && isRecord(body.embeddings) ? body.embeddings : {};
    const floats = Array.isArray(byType.float) ? (byType.float as unknown[]) : [];
    const vectors = floats.map((v) => (Array.isArray(v) ? (v as number[]) : []));
    return toOpenAiList(vectors, ctx.model, ctx.encodingFormat, extractCohereEmbeddingUsage(body)?.inputTokens ?? ctx.estimatedInputTokens ?? 0);
  },
  extractEmbeddingUsage: extractCohereEmbeddingUsage,
};
