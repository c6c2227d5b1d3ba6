import type { ProviderAdapter } from "../types";
import { OPENAI_DEFAULT_BASE_URL } from "./api";
import { prepareOpenAiChatRequest } from "./chat";
import { classifyOpenAiError } from "./errors";
import { finishOpenAiStream, initOpenAiStreamState, transformOpenAiStream, type OpenAiStreamState } from "./stream";
import { extractOpenAiChatUsage, extractOpenAiChatUsageFromBytes } from "./usage";

export { OPENAI_DEFAULT_BASE_URL, openAiUrl, resolveBaseUrl } from "./api";
export { buildOpenAiChatBody, prepareOpenAiChatRequest, type OpenAiChatBody } from "./chat";
export { classifyOpenAiError, parseOpenAiErrorBody } from "./errors";
export { finishOpenAiStream, initOpenAiStreamState, transformOpenAiStream, type OpenAiStreamState } from "./stream";
export { extractOpenAiChatUsage, extractOpenAiChatUsageFromBytes, toTokenUsage } from "./usage";

/** The OpenAI base; OpenAI-compatible servers reuse it with their own base URL. */
function openAiFamily(
  types: ProviderAdapter["types"],
  defaultBaseUrl: string | null,
): ProviderAdapter<OpenAiStreamState> {
  return {
    types,
    defaultBaseUrl,
    prepareChatRequest: (request, target) => prepareOpenAiChatRequest(request, target, defaultBaseUrl),
    extractChatUsage: extractOpenAiChatUsage,
    chatUsageFromBytes: extractOpenAiChatUsageFromBytes,
    translateChatResponse: () => null,
    initStreamState: initOpenAiStreamState,
    transformStream: transformOpenAiStream,
    finishStream: finishOpenAiStream,
    streamOutputIsInput: true,
    streamUsage: (state) => state.usage,
    streamCompleted: (state) => state.done,
    classifyError: classifyOpenAiError,
  };
}

export const openAiAdapter = openAiFamily(["openai"], OPENAI_DEFAULT_BASE_URL) satisfies ProviderAdapter<OpenAiStreamState>;

/** vLLM, Ollama, LM Studio, Groq, …: same wire format, base URL required. */
export const openAiCompatibleAdapter = openAiFamily(["openai-compatible"], null) satisfies ProviderAdapter<OpenAiStreamState>;
