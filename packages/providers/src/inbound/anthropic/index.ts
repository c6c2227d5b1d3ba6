/**
 * Inbound Anthropic Messages API: pure translations between Anthropic's request,
 * response and event stream and the canonical OpenAI shapes every adapter speaks.
 */
export { anthropicToChatRequest, type InboundAnthropicOptions, type InboundAnthropicResult } from "./request";
export { anthropicMessagesRequestSchema, type AnthropicMessagesRequest } from "./schema";
export {
  chatCompletionToAnthropicMessage,
  parseToolInput,
  toAnthropicMessageId,
  toAnthropicStopReason,
  type AnthropicContentBlock,
  type AnthropicMessage,
  type AnthropicStopReason,
} from "./response";
export {
  anthropicStreamEnded,
  finishAnthropicStream,
  initAnthropicStreamState,
  transformToAnthropicStream,
  type AnthropicStreamState,
  type AnthropicStreamStep,
} from "./stream";
export { toAnthropicUsage, tokenUsageFromOpenAi, type AnthropicUsage } from "./usage";
export { anthropicErrorBody, anthropicErrorType, type AnthropicErrorBody } from "./errors";
