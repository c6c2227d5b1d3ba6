import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, type ChatCompletionRequest } from "@switchyard/contracts";
import { inboundAnthropic } from "@switchyard/providers";
import type { RequestContext, RouteDeps } from "../context";
import type { ModelEntry } from "../snapshot";
import { admitRequest, type StreamEncoder } from "./chat-core";
import { serveChat } from "./chat-serve";

/**
 * OpenAI's own API refuses `max_tokens` on reasoning models; servers that merely speak
 * its format (vLLM, Ollama, …) and the translating adapters all read `max_tokens`.
 */
const MAX_COMPLETION_TOKENS_TYPES = new Set(["openai", "azure"]);

function anthropicEncoder(model: string, fallbackId: string): StreamEncoder {
  let state = inboundAnthropic.initAnthropicStreamState({ model, fallbackId });
  return {
    contentType: "text/event-stream; charset=utf-8",
    push(openAiSse) {
      const step = inboundAnthropic.transformToAnthropicStream(state, openAiSse);
      state = step.state;
      return step.output;
    },
    end(failure) {
      const step = inboundAnthropic.finishAnthropicStream(state, failure);
      state = step.state;
      return step.output;
    },
  };
}

/** The canonical request for one target: OpenAI's own API wants max_completion_tokens. */
function bodyForTarget(model: ModelEntry, body: ChatCompletionRequest): ChatCompletionRequest {
  if (!MAX_COMPLETION_TOKENS_TYPES.has(model.provider.type) || body.max_tokens === undefined) return body;
  const { max_tokens, ...rest } = body;
  return { ...rest, max_completion_tokens: max_tokens };
}

/**
 * POST /v1/messages: Anthropic's Messages API in and out, carried to any provider by
 * translating to the canonical OpenAI request and back. Errors answer in Anthropic's
 * shape (server.ts renders them).
 */
export async function handleMessages(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, deps: RouteDeps): Promise<void> {
  ctx.endpoint = "messages";
  // Anthropic's SDKs read this header as the request id.
  res.setHeader("request-id", ctx.requestId);
  const json = await admitRequest(req, ctx, deps);
  // Anthropic's max_tokens (required) becomes max_tokens here; bodyForTarget renames it per target.
  const translated = inboundAnthropic.anthropicToChatRequest(json, { maxTokensParam: "max_tokens" });
  if (!translated.ok) throw new AppError("invalid_request", translated.message, { param: translated.param });
  if (!translated.request.model) throw new AppError("invalid_request", "model: model is required", { param: "model" });
  await serveChat(req, res, ctx, deps, translated.request, {
    forwardsProviderBytes: false,
    encoder: (model) => anthropicEncoder(model, ctx.requestId),
    renderJson: (completion, c, model) => inboundAnthropic.chatCompletionToAnthropicMessage(completion, c.usage, model),
    bodyFor: bodyForTarget,
    extraDroppedParams: translated.droppedParams,
  });
}
