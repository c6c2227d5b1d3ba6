import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, chatCompletionRequestSchema } from "@switchyard/contracts";
import { formatNanoUsd } from "@switchyard/pricing";
import { costOf, keepResponseBody, type RequestContext, type RouteDeps } from "../context";
import { formatParam } from "../http";
import { admitRequest, callProvider, chatDemand, enforceLimits, estimateUsageIfMissing, keepStreamResponse, pickModel, pumpStream, readCompletion } from "./chat-core";

/** POST /v1/chat/completions: the client's body already is the canonical request. */
export async function handleChatCompletions(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, deps: RouteDeps): Promise<void> {
  ctx.endpoint = "chat.completions";
  const json = await admitRequest(req, ctx, deps);
  const parsed = chatCompletionRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue ? formatParam(issue.path) : null;
    throw new AppError("invalid_request", `Invalid request: ${param ? `${param}: ` : ""}${issue?.message ?? "invalid body"}`, { param });
  }
  const body = parsed.data;
  const model = pickModel(ctx, deps, body.model, body.stream === true);
  await enforceLimits(res, ctx, deps, model, chatDemand(body, model));
  const call = await callProvider(res, ctx, deps, body, model);

  if (call.prepared.stream) {
    const streamed = await pumpStream(res, ctx, call, model.provider.slug);
    await estimateUsageIfMissing(ctx, body, model, null, streamed);
    keepStreamResponse(ctx, streamed);
    return;
  }

  const reply = await readCompletion(ctx, call, model);
  ctx.status = call.upstream.statusCode;
  await estimateUsageIfMissing(ctx, body, model, reply.completion);
  const cost = costOf(ctx);
  const headers: Record<string, string | number> = { "content-type": reply.contentType, "content-length": reply.payload.length };
  if (cost !== null) headers["x-switchyard-cost-usd"] = formatNanoUsd(cost);
  res.writeHead(call.upstream.statusCode, headers);
  keepResponseBody(ctx, reply.payload);
  res.end(reply.payload);
}
