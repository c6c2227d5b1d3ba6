import type { IncomingMessage, ServerResponse } from "node:http";
import { request as undiciRequest, type Dispatcher } from "undici";
import { AppError, chatCompletionRequestSchema, type ErrorCode } from "@switchyard/contracts";
import { formatNanoUsd } from "@switchyard/pricing";
import { getProviderAdapter, type ProviderAdapter, type UpstreamErrorInfo } from "@switchyard/providers";
import { authenticate, isModelAllowed, parseTagsHeader } from "../auth";
import { costOf, type RequestContext, type RouteDeps } from "../context";
import { formatParam, readBodyLimited, sendError } from "../http";
import { resolveModel } from "../snapshot";

const firstHeader = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Auth, attribution headers and the validated body: everything before choosing a provider. */
async function admitRequest(req: IncomingMessage, ctx: RequestContext, deps: RouteDeps) {
  const snapshot = deps.getSnapshot();
  if (!snapshot) throw new AppError("upstream_unavailable", "The gateway is starting; its configuration is not loaded yet.");
  ctx.key = authenticate(snapshot, req.headers);
  ctx.tags = { ...ctx.key.tags }; // what the event keeps if the header below is malformed
  // Request tags add to the key's tags and override them by name.
  ctx.tags = { ...ctx.key.tags, ...parseTagsHeader(req.headers["x-switchyard-tags"]) };
  const user = firstHeader(req.headers["x-switchyard-user"])?.trim();
  if (user && user.length > 256) throw new AppError("invalid_request", "x-switchyard-user must be at most 256 characters.", { param: "x-switchyard-user" });
  ctx.endUser = user || null;

  const raw = await readBodyLimited(req, deps.config.maxBodyBytes);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new AppError("invalid_json", "We could not parse the JSON body of your request. Send a JSON object (Content-Type: application/json).");
  }
  const parsed = chatCompletionRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue ? formatParam(issue.path) : null;
    throw new AppError("invalid_request", `Invalid request: ${param ? `${param}: ` : ""}${issue?.message ?? "invalid body"}`, { param });
  }
  const body = parsed.data;
  ctx.requestedModel = body.model;
  ctx.stream = body.stream === true;

  const resolved = resolveModel(snapshot, body.model);
  if (!resolved) throw new AppError("model_not_found", `The model '${body.model}' does not exist.`, { param: "model" });
  if (!isModelAllowed(ctx.key, body.model)) throw new AppError("model_not_allowed", `This API key may not use the model '${body.model}'.`, { param: "model" });
  ctx.servedModel = resolved.model.name;
  ctx.provider = resolved.model.provider.slug;
  ctx.pricing = resolved.model.pricing;
  return { body, model: resolved.model };
}

/** An undici failure (no HTTP answer) → 504 for timeouts, 502 otherwise; the message names the provider. */
function transportError(err: unknown, provider: string): AppError {
  const code = (err as { code?: unknown }).code;
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new AppError("upstream_timeout", `Provider "${provider}" did not respond in time.`, { cause: err });
  }
  // Only the error code: the message would reveal the provider's address.
  const reason = typeof code === "string" ? code : (err as Error).name;
  return new AppError("upstream_error", `Could not reach provider "${provider}" (${reason}).`, { cause: err });
}

/** Kinds that are the client's to fix: the provider's status and message pass through. */
const CLIENT_KINDS = new Set(["invalid_request", "context_length_exceeded", "content_filtered", "not_found", "rate_limited"]);

/**
 * The client's own mistakes pass through with the provider's status and message;
 * provider-side failures become 502/503/504 naming the provider. A provider 401/403 is
 * about our provider key, so its message (which may quote part of that key) is dropped.
 */
function upstreamHttpError(info: UpstreamErrorInfo, provider: string, retryAfter: string | undefined) {
  const headers: Record<string, string> = retryAfter ? { "retry-after": retryAfter } : {};
  if (CLIENT_KINDS.has(info.kind)) {
    const code: ErrorCode = info.kind === "rate_limited" ? "rate_limit_exceeded" : info.kind === "not_found" ? "not_found" : "invalid_request";
    const message = info.message ?? `Provider "${provider}" rejected the request (HTTP ${info.upstreamStatus}).`;
    return { error: new AppError(code, message, { status: info.clientStatus, param: info.param, headers }), override: { type: info.type, code: info.code } };
  }
  const message =
    info.kind === "auth" || info.kind === "permission"
      ? `Provider "${provider}" rejected the gateway's credentials (HTTP ${info.upstreamStatus}); check the provider key.`
      : `Provider "${provider}" returned HTTP ${info.upstreamStatus}${info.message ? `: ${info.message}` : ""}.`;
  const code: ErrorCode = info.clientStatus === 504 ? "upstream_timeout" : info.clientStatus === 503 ? "upstream_unavailable" : "upstream_error";
  return { error: new AppError(code, message, { status: info.clientStatus, headers }), override: {} };
}

/** Waits for 'drain' (backpressure from a slow client) or for the response to close. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

async function forwardStream(
  res: ServerResponse,
  ctx: RequestContext,
  adapter: ProviderAdapter,
  upstream: Dispatcher.ResponseData,
  clientWantsUsage: boolean,
  provider: string,
): Promise<void> {
  res.writeHead(upstream.statusCode, {
    "content-type": firstHeader(upstream.headers["content-type"]) ?? "text/event-stream",
    "cache-control": "no-cache",
    // Ask reverse proxies (nginx) not to buffer: events must reach the client as they come.
    "x-accel-buffering": "no",
  });
  res.flushHeaders();
  ctx.status = upstream.statusCode;
  let state = adapter.initStreamState({ clientWantsUsage });
  const decoder = new TextDecoder();
  const forward = async (output: string, firstContent: boolean) => {
    if (firstContent && ctx.ttftMs === null) ctx.ttftMs = Math.round(performance.now() - ctx.startedAt);
    if (output && !res.write(output)) await drained(res);
  };
  let failure: AppError | null = null;
  try {
    for await (const chunk of upstream.body) {
      const step = adapter.transformStream(state, decoder.decode(chunk as Buffer, { stream: true }));
      state = step.state;
      await forward(step.output, step.firstContent);
    }
    const last = adapter.transformStream(state, decoder.decode());
    const end = adapter.finishStream(last.state);
    state = end.state;
    await forward(last.output + end.output, last.firstContent || end.firstContent);
  } catch (err) {
    if (!ctx.clientAborted) failure = transportError(err, provider);
  }
  ctx.usage = adapter.streamUsage(state);
  if (!ctx.clientAborted && !adapter.streamCompleted(state)) {
    // The status line (200) is gone already; the event records what the client got: a broken stream.
    ctx.status = failure?.status ?? 502;
    ctx.errorClass = failure?.code === "upstream_timeout" ? "upstream_timeout" : "upstream_stream_interrupted";
  }
  if (!res.destroyed) res.end();
}

export async function handleChatCompletions(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, deps: RouteDeps): Promise<void> {
  ctx.endpoint = "chat.completions";
  const { body, model } = await admitRequest(req, ctx, deps);
  res.setHeader("x-switchyard-provider", model.provider.slug);
  res.setHeader("x-switchyard-model", model.name);
  res.setHeader("x-switchyard-cache", "miss");

  const adapter = getProviderAdapter(model.provider.type);
  if (!adapter) {
    throw new AppError("upstream_error", `Provider "${model.provider.slug}" has type "${model.provider.type}", which this gateway version cannot call yet.`);
  }
  let prepared;
  try {
    prepared = adapter.prepareChatRequest(body, {
      baseUrl: model.provider.baseUrl,
      apiKey: model.provider.apiKey,
      upstreamModel: model.upstreamModel,
      apiVersion: model.provider.apiVersion,
    });
  } catch (err) {
    throw new AppError("upstream_error", `Provider "${model.provider.slug}" is misconfigured: ${(err as Error).message}.`);
  }

  if (prepared.droppedParams.length > 0) res.setHeader("x-switchyard-dropped-params", prepared.droppedParams.join(","));

  const controller = new AbortController();
  ctx.abortUpstream = () => controller.abort();
  ctx.attempts = 1;
  const sentAt = performance.now();
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await undiciRequest(prepared.http.url, {
      method: prepared.http.method,
      headers: prepared.http.headers,
      body: prepared.http.body,
      signal: controller.signal,
      dispatcher: deps.dispatcher,
      headersTimeout: deps.config.upstreamHeadersTimeoutMs,
      bodyTimeout: deps.config.upstreamBodyTimeoutMs,
    });
  } catch (err) {
    if (ctx.clientAborted) return;
    const e = transportError(err, model.provider.slug);
    ctx.errorClass = e.code === "upstream_timeout" ? "upstream_timeout" : "upstream_connection_error";
    throw e;
  }
  deps.metrics.observeUpstreamLatency(model.provider.slug, (performance.now() - sentAt) / 1000);

  if (upstream.statusCode >= 400) {
    const text = await upstream.body.text().catch(() => "");
    const info = adapter.classifyError(upstream.statusCode, text);
    ctx.errorClass = info.errorClass;
    const { error, override } = upstreamHttpError(info, model.provider.slug, firstHeader(upstream.headers["retry-after"]));
    ctx.status = error.status;
    sendError(res, error, override);
    return;
  }

  if (prepared.stream) {
    await forwardStream(res, ctx, adapter, upstream, prepared.clientWantsUsage, model.provider.slug);
    return;
  }

  let payload: Buffer;
  try {
    payload = Buffer.from(await upstream.body.arrayBuffer());
  } catch (err) {
    if (ctx.clientAborted) return;
    const e = transportError(err, model.provider.slug);
    ctx.errorClass = e.code === "upstream_timeout" ? "upstream_timeout" : "upstream_connection_error";
    throw e;
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(payload.toString("utf8"));
  } catch {
    // Forwarded as is; the event records that no usage was reported.
  }
  ctx.usage = adapter.extractChatUsage(parsed);
  // Providers with another wire format are translated; the OpenAI family is forwarded byte for byte.
  const translated = parsed === null ? null : adapter.translateChatResponse(parsed, { model: model.name });
  if (translated) payload = Buffer.from(JSON.stringify(translated));
  const cost = costOf(ctx);
  const headers: Record<string, string | number> = {
    "content-type": firstHeader(upstream.headers["content-type"]) ?? "application/json",
    "content-length": payload.length,
  };
  if (cost !== null) headers["x-switchyard-cost-usd"] = formatNanoUsd(cost);
  ctx.status = upstream.statusCode;
  res.writeHead(upstream.statusCode, headers);
  res.end(payload);
}
