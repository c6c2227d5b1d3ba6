/**
 * The request path shared by /v1/chat/completions and /v1/messages: admit (auth,
 * attribution, body), pick the model, call the provider through its adapter with the
 * canonical OpenAI request, and collect usage. Each route only parses its own request
 * format and renders the answer in its own format.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isAscii } from "node:buffer";
import { StringDecoder } from "node:string_decoder";
import { countTextTokens, estimateChatInputTokens } from "@switchyard/tokenizer";
import { AppError, type ChatCompletion, type ChatCompletionRequest, type ErrorCode } from "@switchyard/contracts";
import type { UpstreamErrorInfo, UpstreamHttpRequest, UpstreamTarget } from "@switchyard/providers";
import { authenticate, isModelAllowed, parseTagsHeader } from "../auth";
import { keepRequestBody, keepResponseBody, type RequestContext, type RouteDeps } from "../context";
import { ProviderHttpError, readBodyLimited } from "../http";
import { maxOutputTokensFor, type LimitDemand } from "../limits";
import { transportError, type ProviderCall } from "../routing/failover";
import { pickProviderKey, pricingFor, requestedPricingFor, resolveModel, type ModelEntry } from "../snapshot";
import { requestUpstream, UpstreamAbort, type UpstreamReply } from "../upstream-request";

export { transportError, type ProviderCall } from "../routing/failover";

export const firstHeader = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** Auth, attribution headers and the JSON body: everything before the route reads its format. */
export async function admitRequest(req: IncomingMessage, ctx: RequestContext, deps: RouteDeps): Promise<unknown> {
  const snapshot = deps.getSnapshot();
  if (!snapshot) throw new AppError("upstream_unavailable", "The gateway is starting; its configuration is not loaded yet.");
  ctx.key = authenticate(snapshot, req.headers);
  ctx.tags = { ...ctx.key.tags }; // what the event keeps if the header below is malformed
  // Request tags add to the key's tags and override them by name.
  Object.assign(ctx.tags, parseTagsHeader(req.headers["x-switchyard-tags"]));
  const user = firstHeader(req.headers["x-switchyard-user"])?.trim();
  if (user && user.length > 256) throw new AppError("invalid_request", "x-switchyard-user must be at most 256 characters.", { param: "x-switchyard-user" });
  ctx.endUser = user || null;
  ctx.bodyLogging = snapshot.teams.get(ctx.key.teamId)?.bodyLogging ?? "off";

  const raw = await readBodyLimited(req, deps.config.maxBodyBytes);
  ctx.requestBytes = raw.length;
  keepRequestBody(ctx, raw);
  try {
    return JSON.parse(raw.toString("utf8")) as unknown;
  } catch {
    throw new AppError("invalid_json", "We could not parse the JSON body of your request. Send a JSON object (Content-Type: application/json).");
  }
}

/** The public model (or route alias) → the model entry to call; 404 unknown, 403 not allowed for this key. */
export function pickModel(ctx: RequestContext, deps: RouteDeps, name: string, stream: boolean): ModelEntry {
  ctx.requestedModel = name;
  ctx.stream = stream;
  const snapshot = deps.getSnapshot();
  const resolved = snapshot ? resolveModel(snapshot, name, ctx.key?.orgId ?? null) : null;
  if (!snapshot || !resolved) throw new AppError("model_not_found", `The model '${name}' does not exist.`, { param: "model" });
  if (!ctx.key || !isModelAllowed(ctx.key, name)) throw new AppError("model_not_allowed", `This API key may not use the model '${name}'.`, { param: "model" });
  ctx.servedModel = resolved.model.name;
  ctx.strictRoute = resolved.route?.strict ? resolved.route.alias : null;
  ctx.provider = resolved.model.provider.slug;
  ctx.pricing = pricingFor(snapshot, resolved.model, ctx.key.orgId);
  ctx.requestedPricing = requestedPricingFor(snapshot, resolved, ctx.key.orgId);
  return resolved.model;
}

/**
 * The rate-limit and budget step, after the model is known and before the provider is
 * called: 429 when a limit or hard budget refuses, x-ratelimit-* headers otherwise.
 */
export async function enforceLimits(res: ServerResponse, ctx: RequestContext, deps: RouteDeps, model: ModelEntry, demand: LimitDemand): Promise<void> {
  const snapshot = deps.getSnapshot();
  if (!deps.limits || !snapshot) return;
  await deps.limits.admit(res, ctx, snapshot, model, demand);
}

/** What a chat request may consume: its estimated input and its worst-case output. */
export function chatDemand(body: ChatCompletionRequest, model: ModelEntry): LimitDemand {
  return {
    estimateInputTokens: () => estimateChatInputTokens(body, model.upstreamModel, model.provider.type),
    maxOutputTokens: maxOutputTokensFor(body, model),
  };
}

/** Kinds that are the client's to fix: the provider's status and message pass through. */
const CLIENT_KINDS = new Set(["invalid_request", "context_length_exceeded", "content_filtered", "not_found", "rate_limited"]);

/**
 * The client's own mistakes pass through with the provider's status and message;
 * provider-side failures become 502/503/504 naming the provider. A provider 401/403 is
 * about our provider key, so its message (which may quote part of that key) is dropped.
 */
export function upstreamHttpError(info: UpstreamErrorInfo, provider: string, retryAfterHeader: string | undefined): ProviderHttpError {
  // Gemini puts the wait in its body (RetryInfo), not in a header.
  const retryAfter = retryAfterHeader ?? (info.retryAfterSeconds != null ? String(info.retryAfterSeconds) : undefined);
  const headers: Record<string, string> = retryAfter ? { "retry-after": retryAfter } : {};
  if (CLIENT_KINDS.has(info.kind)) {
    const code: ErrorCode = info.kind === "rate_limited" ? "rate_limit_exceeded" : info.kind === "not_found" ? "not_found" : "invalid_request";
    const message = info.message ?? `Provider "${provider}" rejected the request (HTTP ${info.upstreamStatus}).`;
    return new ProviderHttpError(code, message, { status: info.clientStatus, param: info.param, headers }, { type: info.type, code: info.code });
  }
  const message =
    info.kind === "auth" || info.kind === "permission"
      ? `Provider "${provider}" rejected the gateway's credentials (HTTP ${info.upstreamStatus}); check the provider key.`
      : `Provider "${provider}" returned HTTP ${info.upstreamStatus}${info.message ? `: ${info.message}` : ""}.`;
  const code: ErrorCode = info.clientStatus === 504 ? "upstream_timeout" : info.clientStatus === 503 ? "upstream_unavailable" : "upstream_error";
  return new ProviderHttpError(code, message, { status: info.clientStatus, headers }, {});
}

/**
 * Sends one request to a provider: aborted when the client goes away, bounded by the
 * upstream timeouts, timed for the latency metric. Resolves with a 2xx response; an
 * error status is classified with `classify` (the provider's own error envelope) and
 * thrown as the client's error.
 */
export async function sendUpstream(
  ctx: RequestContext,
  deps: RouteDeps,
  http: UpstreamHttpRequest,
  provider: string,
  classify: (status: number, bodyText: string) => UpstreamErrorInfo,
): Promise<UpstreamReply> {
  const controller = new UpstreamAbort();
  ctx.abortUpstream = () => controller.abort();
  ctx.attempts = 1;
  const sentAt = performance.now();
  let upstream: UpstreamReply;
  try {
    upstream = await requestUpstream(deps.dispatcher, http, controller, deps.config.upstreamHeadersTimeoutMs, deps.config.upstreamBodyTimeoutMs);
  } catch (err) {
    const e = transportError(err, provider);
    ctx.errorClass = e.code === "upstream_timeout" ? "upstream_timeout" : "upstream_connection_error";
    throw e;
  }
  deps.metrics.observeUpstreamLatency(provider, (performance.now() - sentAt) / 1000);
  if (upstream.statusCode >= 400) {
    const text = await upstream.body.text().catch(() => "");
    const info = classify(upstream.statusCode, text);
    ctx.errorClass = info.errorClass;
    throw upstreamHttpError(info, provider, firstHeader(upstream.headers["retry-after"]));
  }
  return upstream;
}

/** Where and as whom to call the model's provider (embeddings); picks the provider's next key. */
export function upstreamTargetFor(model: ModelEntry): UpstreamTarget {
  return {
    baseUrl: model.provider.baseUrl,
    apiKey: pickProviderKey(model.provider)?.apiKey ?? null,
    upstreamModel: model.upstreamModel,
    apiVersion: model.provider.apiVersion,
  };
}

export interface CompletionReply {
  /** The bytes to forward: the provider's own (OpenAI family) or the translated completion. */
  payload: Buffer;
  /**
   * The reply as an OpenAI chat completion; null when the provider sent something else
   * than JSON, or when the caller did not need it and the bytes are forwarded unread.
   */
  completion: ChatCompletion | null;
  contentType: string;
}

/**
 * Reads a non-streaming reply, records its usage, and translates it to OpenAI's shape.
 * `needCompletion` false: the caller forwards the provider's bytes and needs nothing but
 * the usage, so an adapter that can read it from the bytes (the OpenAI family) does, and
 * the reply is never decoded and parsed whole (a reply without usage still is: estimating
 * its usage needs the completion).
 */
export async function readCompletion(ctx: RequestContext, call: ProviderCall, needCompletion = true): Promise<CompletionReply> {
  const model = call.model;
  let payload: Buffer;
  try {
    payload = await call.upstream.body.bytes();
  } catch (err) {
    const e = transportError(err, model.provider.slug);
    ctx.errorClass = e.code === "upstream_timeout" ? "upstream_timeout" : "upstream_connection_error";
    throw e;
  }
  const contentType = firstHeader(call.upstream.headers["content-type"]) ?? "application/json";
  if (!needCompletion && call.adapter.chatUsageFromBytes) {
    const usage = call.adapter.chatUsageFromBytes(payload);
    if (usage) {
      ctx.usage = usage;
      return { payload, completion: null, contentType };
    }
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(payload.toString("utf8"));
  } catch {
    // Forwarded as is by /v1/chat/completions; the event records that no usage was reported.
  }
  ctx.usage = call.adapter.extractChatUsage(parsed);
  // Providers with another wire format are translated; the OpenAI family is forwarded byte for byte.
  const translated = parsed === null ? null : call.adapter.translateChatResponse(parsed, { model: model.name });
  if (translated) payload = Buffer.from(JSON.stringify(translated));
  const passthrough = typeof parsed === "object" && parsed !== null && Array.isArray((parsed as { choices?: unknown }).choices) ? (parsed as ChatCompletion) : null;
  return {
    payload,
    completion: translated ?? passthrough,
    contentType,
  };
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

/**
 * Re-encodes the adapter's OpenAI chunk stream for a client that speaks another
 * format (/v1/messages). Without one, the adapter's output goes out as is.
 */
export interface StreamEncoder {
  contentType: string;
  push(openAiSse: string): string;
  /** The provider's stream ended; `failure` is set when it broke off. Returns the closing frames. */
  end(failure: { status: number; message: string } | null): string;
}

/** OpenAI SSE kept per stream for estimating usage a provider did not report (bounded). */
const MAX_KEPT_STREAM_CHARS = 4 * 1024 * 1024;

/**
 * Opens the client's stream. With `flush` the status and headers go out at once; without,
 * they leave with the first piece written (one socket write instead of two), for callers
 * that write at once anyway.
 */
export function startStream(res: ServerResponse, ctx: RequestContext, encoder?: StreamEncoder, flush = true): void {
  res.writeHead(200, {
    // Whatever the provider streams, the adapters emit OpenAI SSE.
    "content-type": encoder?.contentType ?? "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    // Ask reverse proxies (nginx) not to buffer: events must reach the client as they come.
    "x-accel-buffering": "no",
  });
  if (flush) res.flushHeaders();
  ctx.status = 200;
}

/** Responses held (corked) until the end of this turn of the event loop. */
const heldForTurn = new WeakSet<ServerResponse>();

/**
 * What a stream writes in one turn of the event loop leaves in one socket write: the
 * response is corked until the turn's I/O is done. Above all the stream's end: when the last
 * piece and the end come together (a fast provider, the tail of every stream, a cached
 * answer replayed), node's own per-tick uncork sent the piece, and the chunked-encoding
 * terminator went out as a socket write (and a packet) of its own. res.end() uncorks fully,
 * so a stream that ends in the turn goes out in one write; a piece of a stream that goes on
 * waits only for the turn's end.
 */
function holdForTurn(res: ServerResponse): void {
  if (heldForTurn.has(res) || res.destroyed) return;
  heldForTurn.add(res);
  res.cork();
  setImmediate(() => {
    heldForTurn.delete(res);
    if (!res.writableEnded && !res.destroyed) res.uncork();
  });
}

/**
 * Writes a piece of OpenAI SSE to the client (re-encoded when the client speaks another
 * format), honouring backpressure. `ascii`: the caller knows `output` is ASCII, so it goes
 * out as latin1, the same bytes without UTF-8's length pass and encoding.
 */
export async function writeStreamPiece(res: ServerResponse, ctx: RequestContext, output: string, firstContent: boolean, encoder?: StreamEncoder, ascii = false): Promise<void> {
  await writePiece(res, ctx, output, firstContent, encoder, ascii);
}

/**
 * writeStreamPiece for pumpStream's loop: a promise only when the client's socket asks the
 * stream to wait ('drain'). A piece that goes straight out costs no promise and no
 * microtask turn, where three async layers (transform, forward, write) made three a piece.
 */
function writePiece(res: ServerResponse, ctx: RequestContext, output: string, firstContent: boolean, encoder: StreamEncoder | undefined, ascii: boolean): Promise<void> | undefined {
  if (firstContent && ctx.ttftMs === null) ctx.ttftMs = Math.round(performance.now() - ctx.startedAt);
  const out = encoder && output ? encoder.push(output) : output;
  if (!out) return undefined;
  ctx.chunks += countSseEvents(out);
  holdForTurn(res);
  if (!res.destroyed && !res.write(out, ascii && !encoder ? "latin1" : "utf8")) return drained(res);
  return undefined;
}

/**
 * Ends the client's stream. A stream that broke after its first byte cannot change its
 * status any more: it ends with an error event the SDKs raise (OpenAI: `data: {"error":…}`;
 * Anthropic: `event: error`), never with a silent cut.
 */
export function endStream(res: ServerResponse, ctx: RequestContext, failure: { status: number; message: string } | null, encoder?: StreamEncoder): void {
  if (!ctx.clientAborted && !res.destroyed) {
    let tail: string;
    if (encoder) tail = encoder.end(failure);
    else if (failure) {
      const error = { message: failure.message, type: failure.status === 504 ? "timeout_error" : "server_error", code: "upstream_stream_interrupted", param: null };
      tail = `data: ${JSON.stringify({ error })}\n\n`;
    } else tail = "";
    if (tail) {
      ctx.chunks += countSseEvents(tail);
      res.write(tail);
    }
  }
  if (!res.destroyed) res.end();
}

/**
 * Streams the provider's answer through the adapter (and the encoder, if any) to the
 * client as it arrives, starting with the first chunk failover already read. Returns
 * the OpenAI SSE it produced (up to 4 MiB), from which estimateUsageIfMissing counts
 * the output of a stream that ended without usage and the cache assembles the answer.
 * `tap` sees each piece of OpenAI SSE as it is produced (request coalescing).
 */
export async function pumpStream(res: ServerResponse, ctx: RequestContext, call: ProviderCall, encoder?: StreamEncoder, tap?: (openAiSse: string) => void): Promise<string[]> {
  const produced: string[] = [];
  let producedChars = 0;
  const { adapter } = call;
  const provider = call.model.provider.slug;
  // The provider's first chunk is already here: the headers go out with its output.
  startStream(res, ctx, encoder, false);
  let state = adapter.initStreamState({ clientWantsUsage: call.prepared.clientWantsUsage, model: call.model.name });
  // Not TextDecoder: its streaming mode goes through ICU and always makes two-byte strings,
  // so every later step (SSE parsing, JSON, the socket's UTF-8 encoding) paid double for ASCII.
  const decoder = new StringDecoder("utf8");
  let first = true;
  // Every byte so far was ASCII (so the decoder holds nothing back): a chunk of ASCII is
  // taken as latin1, a copy; the first other byte hands this stream to the decoder for good.
  let ascii = true;
  const decode = (chunk: Buffer) => {
    let text: string;
    if (ascii && isAscii(chunk)) text = chunk.toString("latin1");
    else {
      ascii = false;
      text = decoder.write(chunk);
    }
    if (!first || text === "") return text;
    first = false;
    // As TextDecoder did: a byte order mark at the very start is not part of the stream.
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };
  // Both answer a promise only when the client is slow to read (see writePiece).
  const forward = (output: string, firstContent: boolean): Promise<void> | undefined => {
    if (output && producedChars < MAX_KEPT_STREAM_CHARS) {
      produced.push(output);
      producedChars += output.length;
    }
    if (output) tap?.(output);
    // All input so far was ASCII, and this adapter's output is made of its input only.
    return writePiece(res, ctx, output, firstContent, encoder, ascii && adapter.streamOutputIsInput === true);
  };
  const transform = (chunk: Buffer): Promise<void> | undefined => {
    const step = adapter.transformStream(state, decode(chunk));
    state = step.state;
    return forward(step.output, step.firstContent);
  };
  let failure: AppError | null = null;
  try {
    let wait = call.firstChunk ? transform(call.firstChunk) : undefined;
    if (wait) await wait;
    // A first chunk with nothing to forward yet (a partial event): the client still gets the status now.
    if (!res.headersSent && !res.destroyed) res.flushHeaders();
    const body = call.upstream.body;
    for (let next = await body.next(); !next.done; next = await body.next()) {
      wait = transform(next.value);
      if (wait) await wait;
    }
    const last = adapter.transformStream(state, decoder.end());
    const end = adapter.finishStream(last.state);
    state = end.state;
    wait = forward(last.output + end.output, last.firstContent || end.firstContent);
    if (wait) await wait;
  } catch (err) {
    if (!ctx.clientAborted) failure = transportError(err, provider);
  }
  ctx.usage = adapter.streamUsage(state);
  const completed = adapter.streamCompleted(state);
  if (!ctx.clientAborted && !completed) {
    // The status line (200) is gone already; the event records what the client got: a broken stream.
    ctx.status = failure?.status ?? 502;
    ctx.errorClass = failure?.code === "upstream_timeout" ? "upstream_timeout" : "upstream_stream_interrupted";
  }
  endStream(
    res,
    ctx,
    completed ? null : { status: failure?.status ?? 502, message: failure?.message ?? `Provider "${provider}" ended the stream before it was complete.` },
    encoder,
  );
  return produced;
}

/** SSE events in a piece of stream output (each ends with a blank line). */
function countSseEvents(sse: string): number {
  let n = 0;
  for (let i = sse.indexOf("\n\n"); i !== -1; i = sse.indexOf("\n\n", i + 2)) n++;
  return n;
}

/**
 * Keeps a stream's response for body logging (teams with it on): the assembled output
 * (content, refusals, tool-call arguments, in order), not the raw SSE.
 */
export function keepStreamResponse(ctx: RequestContext, streamed: readonly string[]): void {
  if (ctx.bodyLogging !== "off") keepResponseBody(ctx, streamedOutputText(streamed).join(""));
}

/** The generated text in OpenAI chat SSE (content, refusals, tool-call arguments). */
function streamedOutputText(sse: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of sse.join("").split("\n")) {
    if (!line.startsWith("data:")) continue;
    const data = line.slice(5).trim();
    if (data === "" || data === "[DONE]") continue;
    let chunk: { choices?: { delta?: { content?: unknown; refusal?: unknown; tool_calls?: { function?: { arguments?: unknown } }[] } }[] };
    try {
      chunk = JSON.parse(data) as typeof chunk;
    } catch {
      continue;
    }
    for (const choice of chunk.choices ?? []) {
      const d = choice.delta;
      if (typeof d?.content === "string") out.push(d.content);
      if (typeof d?.refusal === "string") out.push(d.refusal);
      for (const t of d?.tool_calls ?? []) if (typeof t.function?.arguments === "string") out.push(t.function.arguments);
    }
  }
  return out;
}

/**
 * When a reply carried no usage, count it ourselves and mark the event "estimated"
 * rather than recording zero tokens: some OpenAI-compatible servers send none, and a
 * stream the client cut off or the provider broke ends before its usage chunk, yet
 * the provider bills what it generated. `streamed` (a stream's OpenAI SSE, from
 * pumpStream) is counted as the output; a stream is estimated whatever its status,
 * because the provider accepted it. A non-streamed error is not estimated.
 */
export async function estimateUsageIfMissing(
  ctx: RequestContext,
  body: ChatCompletionRequest,
  model: ModelEntry,
  completion: ChatCompletion | null,
  streamed?: readonly string[],
): Promise<void> {
  if (ctx.usage !== null) return;
  if (streamed === undefined && (ctx.status >= 400 || ctx.clientAborted)) return;
  const providerType = model.provider.type;
  const inputTokens = await estimateChatInputTokens(body, model.upstreamModel, providerType);
  const outputText = streamed
    ? streamedOutputText(streamed)
    : (completion?.choices ?? []).flatMap((c) => [c.message.content ?? "", ...(c.message.tool_calls ?? []).map((t) => t.function.arguments)]);
  const outputTokens = outputText.length > 0 ? (await countTextTokens(outputText, model.upstreamModel, providerType)).tokens : 0;
  ctx.usage = { inputTokens, outputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
  ctx.usageSource = "estimated";
}
