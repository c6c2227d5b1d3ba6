import type { ProviderAdapter } from "../types";
import { GEMINI_DEFAULT_BASE_URL } from "./api";
import { prepareGeminiChatRequest, translateGeminiChatResponse } from "./chat";
import { classifyGeminiError } from "./errors";
import { finishGeminiStream, initGeminiStreamState, transformGeminiStream, type GeminiStreamState } from "./stream";
import { extractGeminiChatUsage } from "./usage";

export { GEMINI_DEFAULT_BASE_URL, geminiHeaders, geminiUrl } from "./api";
export { guessMimeType, mapFinishReason, prepareGeminiChatRequest, SKIP_THOUGHT_SIGNATURE, translateGeminiChatResponse, translateMessages } from "./chat";
export { classifyGeminiError, geminiRetryAfterSeconds, parseGeminiError, readGeminiErrorBody } from "./errors";
export { toGeminiResponseJsonSchema, toGeminiSchema } from "./schema";
export { finishGeminiStream, initGeminiStreamState, transformGeminiStream, type GeminiStreamState } from "./stream";
export { extractGeminiChatUsage, geminiTokenUsage } from "./usage";

/** Google Gemini API (generativelanguage.googleapis.com): generateContent / streamGenerateContent?alt=sse. */
export const geminiAdapter = {
  types: ["gemini"],
  defaultBaseUrl: GEMINI_DEFAULT_BASE_URL,
  prepareChatRequest: (request, target) => prepareGeminiChatRequest(request, target, GEMINI_DEFAULT_BASE_URL),
  extractChatUsage: extractGeminiChatUsage,
  translateChatResponse: translateGeminiChatResponse,
  initStreamState: initGeminiStreamState,
  transformStream: transformGeminiStream,
  finishStream: finishGeminiStream,
  streamUsage: (state) => state.usage,
  streamCompleted: (state) => state.done && !state.failed,
  classifyError: classifyGeminiError,
} satisfies ProviderAdapter<GeminiStreamState>;
