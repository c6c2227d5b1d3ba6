import { GEMINI_DEFAULT_BASE_URL, geminiHeaders } from "../gemini/api";
import { resolveBaseUrl } from "../openai/api";
import type { UpstreamTarget } from "../types";
import { encodingFormatOf, inputTexts, isRecord, toOpenAiList } from "./shared";
import type { EmbeddingAdapter } from "./types";

/** `${base}/models/${model}:batchEmbedContents` (one call for any number of inputs). */
export function geminiEmbeddingsUrl(target: UpstreamTarget): string {
  const model = encodeURIComponent(target.upstreamModel.replace(/^models\//, ""));
  return `${resolveBaseUrl(target, GEMINI_DEFAULT_BASE_URL).replace(/\/+$/, "")}/models/${model}:batchEmbedContents`;
}

/**
 * Gemini `batchEmbedContents`: one request per input text (`content.parts[].text`),
 * `dimensions` → `outputDimensionality`. The reply is `{embeddings: [{values}]}` in input
 * order and carries no token usage: the proxy estimates it (usageSource "estimated").
 */
export const geminiEmbeddings: EmbeddingAdapter = {
  types: ["gemini"],
  defaultBaseUrl: GEMINI_DEFAULT_BASE_URL,
  reportsUsage: false,
  prepareEmbeddingRequest(request, target) {
    const model = `models/${target.upstreamModel.replace(/^models\//, "")}`;
    const requests = inputTexts(request, "Gemini").map((text) => {
      const r: Record<string, unknown> = { model, content: { parts: [{ text }] } };
      if (request.dimensions !== undefined) r.outputDimensionality = request.dimensions;
      // Not OpenAI's, but Gemini's retrieval quality depends on it; accepted as an extension.
      if (typeof request.task_type === "string") r.taskType = request.task_type;
      return r;
    });
    return {
      http: { url: geminiEmbeddingsUrl(target), method: "POST", headers: geminiHeaders(target, false), body: JSON.stringify({ requests }) },
      droppedParams: request.user !== undefined ? ["user"] : [],
      encodingFormat: encodingFormatOf(request),
    };
  },
  translateEmbeddingResponse(body, ctx) {
    const embeddings = isRecord(body) && Array.isArray(body.embeddings) ? (body.embeddings as unknown[]) : [];
    const vectors = embeddings.map((e) => (isRecord(e) && Array.isArray(e.values) ? (e.values as number[]) : []));
    return toOpenAiList(vectors, ctx.model, ctx.encodingFormat, ctx.estimatedInputTokens ?? 0);
  },
  extractEmbeddingUsage: () => null,
};
