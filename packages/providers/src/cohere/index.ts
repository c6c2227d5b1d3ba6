import type { ProviderAdapter } from "../types";
import { COHERE_DEFAULT_BASE_URL } from "./api";
import { prepareCohereChatRequest, translateCohereChatResponse } from "./chat";
import { classifyCohereError } from "./errors";
import { finishCohereStream, initCohereStreamState, transformCohereStream, type CohereStreamState } from "./stream";
import { extractCohereChatUsage } from "./usage";

export { COHERE_DEFAULT_BASE_URL } from "./api";
export { buildCohereChatBody, mapCohereFinishReason, prepareCohereChatRequest, translateCohereChatResponse } from "./chat";
export { classifyCohereError, parseCohereErrorBody } from "./errors";
export { finishCohereStream, initCohereStreamState, transformCohereStream, type CohereStreamState } from "./stream";
export { extractCohereChatUsage, toCohereTokenUsage } from "./usage";

/** Cohere v2 chat (`POST /v2/chat`): its own request, reply and event-stream formats, translated both ways. */
export const cohereAdapter = {
  types: ["cohere"],
  defaultBaseUrl: COHERE_DEFAULT_BASE_URL,
  prepareChatRequest: prepareCohereChatRequest,
  extractChatUsage: extractCohereChatUsage,
  translateChatResponse: translateCohereChatResponse,
  initStreamState: initCohereStreamState,
  transformStream: transformCohereStream,
  finishStream: finishCohereStream,
  streamUsage: (state) => state.usage,
  streamCompleted: (state) => state.done,
  classifyError: classifyCohereError,
} satisfies ProviderAdapter<CohereStreamState>;
