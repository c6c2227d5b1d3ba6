import type { ProviderAdapter } from "../types";
import { MISTRAL_DEFAULT_BASE_URL } from "./api";
import { prepareMistralChatRequest, translateMistralChatResponse } from "./chat";
import { classifyMistralError } from "./errors";
import { finishMistralStream, initMistralStreamState, transformMistralStream, type MistralStreamState } from "./stream";
import { extractMistralChatUsage } from "./usage";

export { MISTRAL_DEFAULT_BASE_URL } from "./api";
export { buildMistralChatBody, prepareMistralChatRequest, translateMistralChatResponse } from "./chat";
export { splitMistralContent } from "./content";
export { classifyMistralError, parseMistralErrorBody } from "./errors";
export { finishMistralStream, initMistralStreamState, transformMistralStream, type MistralStreamState } from "./stream";
export { extractMistralChatUsage, toMistralTokenUsage } from "./usage";

/** Mistral (La Plateforme): OpenAI-like chat with a strict body, typed content arrays and usage on the last chunk. */
export const mistralAdapter = {
  types: ["mistral"],
  defaultBaseUrl: MISTRAL_DEFAULT_BASE_URL,
  prepareChatRequest: prepareMistralChatRequest,
  extractChatUsage: extractMistralChatUsage,
  translateChatResponse: translateMistralChatResponse,
  initStreamState: initMistralStreamState,
  transformStream: transformMistralStream,
  finishStream: finishMistralStream,
  streamUsage: (state) => state.usage,
  streamCompleted: (state) => state.done,
  classifyError: classifyMistralError,
} satisfies ProviderAdapter<MistralStreamState>;
