import { MISTRAL_DEFAULT_BASE_URL } from "../mistral/api";
import { openAiHeaders, openAiUrl, resolveBaseUrl } from "../openai/api";
import { extractOpenAiEmbeddingUsage } from "./openai";
import { encodingFormatOf, inputTexts, isRecord, toOpenAiList } from "./shared";
import type { EmbeddingAdapter } from "./types";

/**
 * Mistral `POST /v1/embeddings`: OpenAI's reply shape, but a stricter body (unknown
 * fields are rejected), so we send only what it takes: `model`, `input` (text), and
 * `output_dimension` for `dimensions`. We always ask for floats and encode base64
 * ourselves when the client wants it.
 */
export const mistralEmbeddings: EmbeddingAdapter = {
  types: ["mistral"],
  defaultBaseUrl: MISTRAL_DEFAULT_BASE_URL,
  reportsUsage: true,
  prepareEmbeddingRequest(request, target) {
    const body: Record<string, unknown> = { model: target.upstreamModel, input: inputTexts(request, "Mistral") };
    if (request.dimensions !== undefined) body.output_dimension = request.dimensions;
    const droppedParams = request.user !== undefined ? ["user"] : [];
    return {
      http: { url: openAiUrl(resolveBaseUrl(target, MISTRAL_DEFAULT_BASE_URL), "/embeddings"), method: "POST", headers: openAiHeaders(target, false), body: JSON.stringify(body) },
      droppedParams,
      encodingFormat: encodingFormatOf(request),
    };
  },
  translateEmbeddingResponse(body, ctx) {
    // Floats were asked for and came back in OpenAI's shape: forward the bytes.
    if (ctx.encodingFormat === "float") return null;
    const data = isRecord(body) && Array.isArray(body.data) ? (body.data as unknown[]) : [];
    const vectors = data.map((d) => (isRecord(d) && Array.isArray(d.embedding) ? (d.embedding as number[]) : []));
    return toOpenAiList(vectors, ctx.model, "base64", extractOpenAiEmbeddingUsage(body)?.inputTokens ?? ctx.estimatedInputTokens ?? 0);
  },
  extractEmbeddingUsage: extractOpenAiEmbeddingUsage,
};
