import type { ProviderType } from "@switchyard/contracts";
import { openAiAdapter, openAiCompatibleAdapter } from "./openai";
import type { ProviderAdapter } from "./types";

export * from "./types";
export * from "./sse";
export * from "./errors";
export * as openai from "./openai";
export { openAiAdapter, openAiCompatibleAdapter, OPENAI_DEFAULT_BASE_URL } from "./openai";

const adapters: Partial<Record<ProviderType, ProviderAdapter>> = {
  openai: openAiAdapter,
  "openai-compatible": openAiCompatibleAdapter,
};

/** The adapter for a provider type; null for types not implemented yet. */
export function getProviderAdapter(type: string): ProviderAdapter | null {
  return (adapters as Record<string, ProviderAdapter | undefined>)[type] ?? null;
}
