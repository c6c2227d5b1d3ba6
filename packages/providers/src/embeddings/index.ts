import type { ProviderType } from "@switchyard/contracts";
import { azureEmbeddings } from "./azure";
import { cohereEmbeddings } from "./cohere";
import { geminiEmbeddings } from "./gemini";
import { mistralEmbeddings } from "./mistral";
import { openAiCompatibleEmbeddings, openAiEmbeddings } from "./openai";
import type { EmbeddingAdapter } from "./types";

export * from "./types";
export { encodeFloat32Base64, decodeFloat32Base64 } from "./shared";
export { extractOpenAiEmbeddingUsage } from "./openai";
export { azureEmbeddingsUrl } from "./azure";
export { geminiEmbeddingsUrl } from "./gemini";
export { extractCohereEmbeddingUsage } from "./cohere";
export { openAiEmbeddings, openAiCompatibleEmbeddings, azureEmbeddings, mistralEmbeddings, geminiEmbeddings, cohereEmbeddings };

/** `POST /v1/embeddings` translation per provider type (Anthropic has no embeddings API). */
export const embeddingAdapters: Partial<Record<ProviderType, EmbeddingAdapter>> = {
  openai: openAiEmbeddings,
  "openai-compatible": openAiCompatibleEmbeddings,
  azure: azureEmbeddings,
  mistral: mistralEmbeddings,
  gemini: geminiEmbeddings,
  cohere: cohereEmbeddings,
};

/** The embeddings adapter for a provider type; null when that provider has no embeddings API. */
export function getEmbeddingAdapter(type: string): EmbeddingAdapter | null {
  return (embeddingAdapters as Record<string, EmbeddingAdapter | undefined>)[type] ?? null;
}
