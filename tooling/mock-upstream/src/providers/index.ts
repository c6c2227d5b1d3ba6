import type { MockPersonality } from "../core";
import { openAiPersonality } from "./openai";

/**
 * Every provider the mock can play. Add a file per provider and one line here; the
 * name is what `startMockUpstream({ provider })` takes.
 */
export const personalities = {
  openai: openAiPersonality,
} satisfies Record<string, MockPersonality>;

export type MockProviderName = keyof typeof personalities;
