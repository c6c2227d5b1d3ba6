import type { ProviderAdapter } from "../types";
import { ANTHROPIC_DEFAULT_BASE_URL } from "./api";
import { prepareAnthropicChatRequest, translateAnthropicChatResponse } from "./chat";
import { classifyAnthropicError } from "./errors";
import { anthropicStreamUsage, finishAnthropicStream, initAnthropicStreamState, transformAnthropicStream, type AnthropicStreamState } from "./stream";
import { extractAnthropicChatUsage } from "./usage";

export { ANTHROPIC_DEFAULT_BASE_URL, ANTHROPIC_VERSION, anthropicHeaders, anthropicMessagesUrl } from "./api";
export { ANTHROPIC_DEFAULT_MAX_TOKENS, JSON_RESPONSE_TOOL, prepareAnthropicChatRequest, toFinishReason, translateAnthropicChatResponse } from "./chat";
export { classifyAnthropicError, parseAnthropicError, parseAnthropicErrorBody } from "./errors";
export { anthropicStreamUsage, finishAnthropicStream, initAnthropicStreamState, transformAnthropicStream, type AnthropicStreamState } from "./stream";
export { extractAnthropicChatUsage, mergeUsage, toOpenAiUsage, toTokenUsage, type AnthropicUsage } from "./usage";

/** Anthropic Messages API behind the OpenAI chat completions shape. */
export const anthropicAdapter = {
  types: ["anthropic"],
  defaultBaseUrl: ANTHROPIC_DEFAULT_BASE_URL,
  prepareChatRequest: prepareAnthropicChatRequest,
  extractChatUsage: extractAnthropicChatUsage,
  translateChatResponse: translateAnthropicChatResponse,
  initStreamState: initAnthropicStreamState,
  transformStream: transformAnthropicStream,
  finishStream: finishAnthropicStream,
  streamUsage: anthropicStreamUsage,
  streamCompleted: (state) => state.done,
  classifyError: classifyAnthropicError,
} satisfies ProviderAdapter<AnthropicStreamState>;
