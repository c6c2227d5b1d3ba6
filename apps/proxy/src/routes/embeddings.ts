/**
 * OpenAI `POST /v1/embeddings` to any provider with an embeddings API: auth, model
 * resolution and limits as for chat, translation through the provider's embeddings
 * adapter, usage (estimated with the tokenizer when the provider reports none), cost.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { AppError, ZERO_USAGE, type TokenUsage } from "@switchyard/contracts";
import { formatNanoUsd } from "@switchyard/pricing";
import {
  EmbeddingRequestError,
  getEmbeddingAdapter,
  getProviderAdapter,
  openAiAdapter,
  type EmbeddingAdapter,
  type EmbeddingRequest,
  type OpenAiEmbeddingList,
  type PreparedEmbeddingRequest,
} from "@switchyard/providers";
import { countEmbeddingInputTokens } from "@switchyard/tokenizer";
import { costOf, keepResponseBody, type RequestContext, type RouteDeps } from "../context";
import { formatParam } from "../http";
import type { ModelEntry } from "../snapshot";
import type { UpstreamReply } from "../upstream-request";
import { admitRequest, enforceLimits, pickModel, sendUpstream, transportError, upstreamTargetFor } from "./chat-core";

/** OpenAI's CreateEmbeddingRequest: what the gateway relies on; other fields pass through. */
const embeddingRequestSchema = z.looseObject({
  model: z.string().min(1, "model is required"),
  input: z.union([
    z.string().min(1, "input cannot be an empty string"),
    z.array(z.string().min(1, "input cannot contain empty strings")).min(1).max(2048),
    z.array(z.number().int().nonnegative()).min(1),
    z.array(z.array(z.number().int().nonnegative()).min(1)).min(1).max(2048),
  ]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});


export async function handleEmbeddings(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, deps: RouteDeps): Promise<void> {
  ctx.endpoint = "embeddings";
  const json = await admitRequest(req, ctx, deps);
  const parsed = embeddingRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue ? formatParam(issue.path) : null;
    throw new AppError("invalid_request", `Invalid request: ${param ? `${param}: ` : ""}${issue?.message ?? "invalid body"}`, { param });
  }
  const body: EmbeddingRequest = parsed.data;
  const model = pickModel(ctx, deps, body.model, false);
  res.setHeader("x-switchyard-provider", model.provider.slug);
  res.setHeader("x-switchyard-model", model.name);

  const { adapter, prepared } = prepareEmbeddingCall(model, body);
  if (prepared.droppedParams.length > 0) res.setHeader("x-switchyard-dropped-params", prepared.droppedParams.join(","));

  // Embeddings produce no output tokens: the worst case is the input alone.
  await enforceLimits(res, ctx, deps, model, {
    estimateInputTokens: async () => (await countEmbeddingInputTokens(body.input, model.upstreamModel, model.provider.type)).tokens,
    maxOutputTokens: 0,
  });

  // Embeddings fail with the provider's usual error envelope: its chat adapter reads it.
  const chatAdapter = getProviderAdapter(model.provider.type) ?? openAiAdapter;
  const classify = (status: number, text: string) => chatAdapter.classifyError(status, text);
  let upstream: UpstreamReply;
  try {
    upstream = await sendUpstream(ctx, deps, prepared.http, model.provider.slug, classify);
  } catch (err) {
    if (ctx.clientAborted) return;
    throw err;
  }

  let payload: Buffer;
  try {
    payload = await upstream.body.bytes();
  } catch (err) {
    if (ctx.clientAborted) return;
    const e = transportError(err, model.provider.slug);
    ctx.errorClass = e.code === "upstream_timeout" ? "upstream_timeout" : "upstream_connection_error";
    throw e;
  }
  const reply = await interpretEmbeddingReply(model, body, adapter, prepared, payload);
  ctx.usage = reply.usage;
  if (reply.usageEstimated) ctx.usageSource = "estimated";
  if (reply.translated) payload = Buffer.from(JSON.stringify(reply.translated));

  const cost = costOf(ctx);
  const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": payload.length };
  if (cost !== null) headers["x-switchyard-cost-usd"] = formatNanoUsd(cost);
  ctx.status = upstream.statusCode;
  res.writeHead(upstream.statusCode, headers);
  keepResponseBody(ctx, payload);
  res.end(payload);
}

/**
 * The embeddings adapter of the model's provider and the request prepared for it. Throws
 * the client's 400 when the provider has no embeddings API or cannot take this input.
 * Shared with the semantic cache's embedder (../cache/embedder.ts).
 */
export function prepareEmbeddingCall(model: ModelEntry, body: EmbeddingRequest): { adapter: EmbeddingAdapter; prepared: PreparedEmbeddingRequest } {
  const adapter = getEmbeddingAdapter(model.provider.type);
  if (!adapter) {
    throw new AppError("invalid_request", `The model '${body.model}' is served by provider "${model.provider.slug}" (${model.provider.type}), which has no embeddings API.`, {
      param: "model",
    });
  }
  try {
    return { adapter, prepared: adapter.prepareEmbeddingRequest(body, upstreamTargetFor(model)) };
  } catch (err) {
    if (err instanceof EmbeddingRequestError) throw new AppError("invalid_request", err.message, { param: err.param });
    throw new AppError("upstream_error", `Provider "${model.provider.slug}" is misconfigured: ${(err as Error).message}.`);
  }
}

export interface EmbeddingReply {
  /** The provider's reply, parsed. */
  parsed: unknown;
  usage: TokenUsage;
  /** The provider reported no usage: `usage` is the tokenizer's count. */
  usageEstimated: boolean;
  /** OpenAI's list in the format asked for; null when the provider's bytes already are it. */
  translated: OpenAiEmbeddingList | null;
}

/**
 * A provider's 2xx embeddings reply (its bytes) → usage (estimated with the tokenizer
 * when the provider reports none) and the OpenAI-shaped list. Throws a 502 for a reply
 * that is not JSON.
 */
export async function interpretEmbeddingReply(
  model: ModelEntry,
  body: EmbeddingRequest,
  adapter: EmbeddingAdapter,
  prepared: PreparedEmbeddingRequest,
  payload: Buffer,
): Promise<EmbeddingReply> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new AppError("upstream_error", `Provider "${model.provider.slug}" returned an embeddings reply that is not JSON.`);
  }
  let usage = adapter.extractEmbeddingUsage(parsed);
  let estimated: number | null = null;
  if (usage === null) {
    // No usage from the provider (Gemini): count the input ourselves and say so on the event.
    estimated = (await countEmbeddingInputTokens(body.input, model.upstreamModel, model.provider.type)).tokens;
    usage = { ...ZERO_USAGE, inputTokens: estimated };
  }
  const translated = adapter.translateEmbeddingResponse(parsed, { model: model.name, encodingFormat: prepared.encodingFormat, estimatedInputTokens: estimated });
  return { parsed, usage, usageEstimated: estimated !== null, translated };
}
