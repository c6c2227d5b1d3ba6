import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError } from "@switchyard/contracts";
import { formatNanoUsd } from "@switchyard/pricing";
import { inboundAnthropic } from "@switchyard/providers";
import { costOf, keepResponseBody, type RequestContext, type RouteDeps } from "../context";
import { sendJson } from "../http";
import { admitRequest, callProvider, chatDemand, enforceLimits, estimateUsageIfMissing, keepStreamResponse, pickModel, pumpStream, readCompletion, type StreamEncoder } from "./chat-core";

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

  // The model decides the max-tokens field, so it is resolved before the full translation.
  const obj = typeof json === "object" && json !== null ? (json as { model?: unknown; stream?: unknown }) : null;
  const model =
    typeof obj?.model === "string" && obj.model !== "" ? pickModel(ctx, deps, obj.model, obj.stream === true) : null;
  const translated = inboundAnthropic.anthropicToChatRequest(json, {
    maxTokensParam: model && MAX_COMPLETION_TOKENS_TYPES.has(model.provider.type) ? "max_completion_tokens" : "max_tokens",
  });
  if (!translated.ok) throw new AppError("invalid_request", translated.message, { param: translated.param });
  if (!model) throw new AppError("invalid_request", "model: model is required", { param: "model" });

  // Anthropic's max_tokens (required) arrives as max_tokens or max_completion_tokens of the translated request.
  await enforceLimits(res, ctx, deps, model, chatDemand(translated.request, model));
  const call = await callProvider(res, ctx, deps, translated.request, model, translated.droppedParams);

  if (call.prepared.stream) {
    const streamed = await pumpStream(res, ctx, call, model.provider.slug, anthropicEncoder(model.name, ctx.requestId));
    await estimateUsageIfMissing(ctx, translated.request, model, null, streamed);
    keepStreamResponse(ctx, streamed);
    return;
  }

  const reply = await readCompletion(ctx, call, model);
  if (!reply.completion) {
    ctx.errorClass = "upstream_invalid_response";
    throw new AppError("upstream_error", `Provider "${model.provider.slug}" sent a reply that is not a chat completion.`);
  }
  ctx.status = 200;
  await estimateUsageIfMissing(ctx, translated.request, model, reply.completion);
  const message = inboundAnthropic.chatCompletionToAnthropicMessage(reply.completion, ctx.usage, model.name);
  const cost = costOf(ctx);
  const headers: Record<string, string> = {};
  if (cost !== null) headers["x-switchyard-cost-usd"] = formatNanoUsd(cost);
  ctx.status = 200;
  if (ctx.bodyLogging !== "off") keepResponseBody(ctx, JSON.stringify(message));
  sendJson(res, 200, message, headers);
}
