import type { ProviderType } from "@switchyard/contracts";
import { openAiAdapter, openAiCompatibleAdapter } from "./openai";
import { anthropicAdapter } from "./anthropic";
import { geminiAdapter } from "./gemini";
import { mistralAdapter } from "./mistral";
import { cohereAdapter } from "./cohere";
import { azureAdapter } from "./azure";
import type { ProviderAdapter } from "./types";

export * from "./types";
export * from "./sse";
export * from "./errors";
export * from "./embeddings";
export * from "./connection-check";
export { toOpenAiUsage } from "./usage";
export * as inboundAnthropic from "./inbound/anthropic";
export * as openai from "./openai";
export { openAiAdapter, openAiCompatibleAdapter, OPENAI_DEFAULT_BASE_URL } from "./openai";
export * as anthropic from "./anthropic";
export { anthropicAdapter, ANTHROPIC_DEFAULT_BASE_URL } from "./anthropic";
export * as gemini from "./gemini";
export { geminiAdapter, GEMINI_DEFAULT_BASE_URL } from "./gemini";
export * as mistral from "./mistral";
export { mistralAdapter, MISTRAL_DEFAULT_BASE_URL } from "./mistral";
export * as cohere from "./cohere";
export { cohereAdapter, COHERE_DEFAULT_BASE_URL } from "./cohere";
export * as azure from "./azure";
export { azureAdapter, AZURE_DEFAULT_API_VERSION } from "./azure";

const adapters: Partial<Record<ProviderType, ProviderAdapter>> = {
  openai: openAiAdapter,
  "openai-compatible": openAiCompatibleAdapter,
  anthropic: anthropicAdapter,
  gemini: geminiAdapter,
  mistral: mistralAdapter,
  cohere: cohereAdapter,
  azure: azureAdapter,
};

/** The adapter for a provider type; null for types not implemented yet. */
export function getProviderAdapter(type: string): ProviderAdapter | null {
  return (adapters as Record<string, ProviderAdapter | undefined>)[type] ?? null;
}
