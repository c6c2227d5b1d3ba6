import type { MockPersonality } from "../core";
import { openAiPersonality } from "./openai";
import { anthropicPersonality } from "./anthropic";
import { geminiPersonality } from "./gemini";
import { mistralPersonality } from "./mistral";
import { coherePersonality } from "./cohere";
import { azurePersonality } from "./azure";

/**
 * Every provider the mock can play. Add a file per provider and one line here; the
 * name is what `startMockUpstream({ provider })` takes.
 */
export const personalities = {
  openai: openAiPersonality,
  gemini: geminiPersonality,
  anthropic: anthropicPersonality,
  mistral: mistralPersonality,
  cohere: coherePersonality,
  azure: azurePersonality,
} satisfies Record<string, MockPersonality>;

export type MockProviderName = keyof typeof personalities;
