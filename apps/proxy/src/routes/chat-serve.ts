/**
 * The chat request path after the body is parsed, shared by /v1/chat/completions and
 * /v1/messages: plan the targets (route strategy, capabilities, health), limits, the
 * exact and semantic caches, request coalescing, then the provider call with retries
 * and failover, and the answer in the client's format (JSON or stream).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { estimateChatInputTokens } from "@switchyard/tokenizer";
import {
  AppError,
  ZERO_USAGE,
  type ChatCompletion,
  type ChatCompletionRequest,
  type TokenUsage,
} from "@switchyard/contracts";
import { formatNanoUsd } from "@switchyard/pricing";
import { toOpenAiUsage } from "@switchyard/providers";
import { isModelAllowed } from "../auth";
import { inflightKey, type Follower, type Leader } from "../cache/coalesce";
import { cacheDirective, type CachedAnswer } from "../cache/exact";
import { cacheNamespace, exactCacheBypassReason, exactCacheKey } from "../cache/key";
import {
  semanticContextHash,
  semanticEligible,
  semanticNamespace,
  semanticText,
} from "../cache/semantic";
import { completionFromOpenAiSse, openAiSseFromCompletion } from "../cache/sse";
import {
  billedUsage,
  costOf,
  keepResponseBody,
  requestedCostOf,
  type RequestContext,
  type RouteDeps,
} from "../context";
import { sendJson } from "../http";
import { callWithFailover, type ProviderCall } from "../routing/failover";
import {
  applyMaxTokens,
  planRoute,
  planSingle,
  requestFeatures,
  type HealthView,
} from "../routing/plan";
import {
  pricingFor,
  requestedPricingFor,
  modelVisibleTo,
  type ModelEntry,
  type RouteEntry,
  type Snapshot,
} from "../snapshot";
import {
  chatDemand,
  endStream,
  enforceLimits,
  estimateUsageIfMissing,
  keepStreamResponse,
  pumpStream,
  readCompletion,
  startStream,
  upstreamHttpError,
  writeStreamPiece,
  type StreamEncoder,
} from "./chat-core";

/** How one endpoint speaks to its clients. */
export interface ChatFormat {
  /** The provider's own JSON bytes may go out unchanged (OpenAI chat completions from an OpenAI-family provider). */
  forwardsProviderBytes: boolean;
  /** Re-encodes OpenAI SSE for the client (Anthropic events); absent: OpenAI SSE as is. */
  encoder?: (modelName: string) => StreamEncoder;
  /** A finished chat completion as the client's JSON body. */
  renderJson(completion: ChatCompletion, ctx: RequestContext, modelName: string): unknown;
  /** The request as a given target must receive it (e.g. its max-tokens field); default: unchanged. */
  bodyFor?: (model: ModelEntry, body: ChatCompletionRequest) => ChatCompletionRequest;
  /** Parameters the inbound translation left out (strict routes refuse them). */
  extraDroppedParams?: readonly string[];
}

const ALWAYS_HEALTHY: HealthView = {
  admit: () => true,
  latencyEwma: () => null,
  inflight: () => 0,
};

interface ChatPlan {
  route: RouteEntry | null;
  candidates: ModelEntry[];
  body: ChatCompletionRequest;
}

/** Sets what the usage event says about the model serving the request (per attempt). */
function setServed(ctx: RequestContext, snapshot: Snapshot, model: ModelEntry): void {
  ctx.servedModel = model.name;
  ctx.provider = model.provider.slug;
  ctx.pricing = pricingFor(snapshot, model, ctx.key?.orgId ?? null);
}

/**
 * The model name or route alias → the ordered targets to try: 404 unknown, 403 not
 * allowed for this key, 400 when no target can take the request (with the reasons).
 */
async function planChat(
  req: IncomingMessage,
  ctx: RequestContext,
  deps: RouteDeps,
  body: ChatCompletionRequest,
): Promise<ChatPlan> {
  const name = body.model;
  ctx.requestedModel = name;
  ctx.stream = body.stream === true;
  const snapshot = deps.getSnapshot();
  const orgId = ctx.key?.orgId ?? null;
  const direct = snapshot?.models.get(name);
  const model = direct && modelVisibleTo(direct, orgId) ? direct : null;
  const routeEntry = !direct ? snapshot?.routes.get(name) : undefined;
  const route =
    routeEntry && (routeEntry.orgId === null || routeEntry.orgId === orgId) ? routeEntry : null;
  if (!snapshot || (!model && !route))
    throw new AppError("model_not_found", `The model '${name}' does not exist.`, {
      param: "model",
    });
  if (!ctx.key || !isModelAllowed(ctx.key, name))
    throw new AppError("model_not_allowed", `This API key may not use the model '${name}'.`, {
      param: "model",
    });

  const lookup = (n: string) => {
    const m = snapshot.models.get(n);
    return m && modelVisibleTo(m, orgId) ? m : null;
  };
  if (route) body = applyMaxTokens(body, route.options.maxTokens).body;
  const listed = model ? [model] : route!.targets.flatMap((t) => lookup(t.model) ?? []);
  if (listed.length === 0)
    throw new AppError("model_not_found", `The model '${name}' does not exist.`, {
      param: "model",
    });
  const features = requestFeatures(
    body,
    { tags: ctx.tags, headers: req.headers, endUser: ctx.endUser },
    await inputEstimate(ctx, body, listed),
  );
  const health = deps.health ?? ALWAYS_HEALTHY;
  const plan = route
    ? planRoute(route, lookup, features, health, (m) => pricingFor(snapshot, m, orgId))
    : planSingle(model!, features);
  if (plan.candidates.length === 0) {
    const reasons = plan.excluded.map((e) => `${e.model}: ${e.reason}`).join("; ");
    throw new AppError(
      "invalid_request",
      route
        ? `No target of route '${name}' can take this request (${reasons || "no target applies"}).`
        : `The model '${name}' cannot take this request: ${reasons}.`,
      { param: "messages" },
    );
  }
  ctx.strictRoute = route?.strict ? route.alias : null;
  ctx.requestedPricing = requestedPricingFor(
    snapshot,
    { requested: name, model: model ?? plan.candidates[0]!, route },
    orgId,
  );
  setServed(ctx, snapshot, plan.candidates[0]!);
  return { route, candidates: plan.candidates, body };
}

/**
 * Input tokens for capability filtering and cost ordering. Counting is real work, so it
 * runs only when the body is big enough to possibly not fit a target's context window
 * (at worst one token per byte); otherwise bytes / 4 is close enough to order by price.
 */
async function inputEstimate(
  ctx: RequestContext,
  body: ChatCompletionRequest,
  listed: readonly ModelEntry[],
): Promise<number> {
  const requestedMax = body.max_completion_tokens ?? body.max_tokens ?? 0;
  const windows = listed
    .map((m) => m.capabilities.contextWindow)
    .filter((w): w is number => w !== undefined);
  const smallest = windows.length > 0 ? Math.min(...windows) : Infinity;
  if (ctx.requestBytes + requestedMax <= smallest) return Math.ceil(ctx.requestBytes / 4);
  const first = listed[0]!;
  return estimateChatInputTokens(body, first.upstreamModel, first.provider.type);
}

/** What caching does for this request; null when its route does not cache. */
interface CachePlan {
  key: string;
  ttlSeconds: number;
  /** false: `no-cache` (the answer is fetched fresh, then stored). */
  lookup: boolean;
  /** Identical requests in flight share one upstream call under this key. */
  coalesceKey: string | null;
  semantic: {
    namespace: string;
    embeddingModel: string;
    threshold: number;
    contextHash: string;
    text: string;
    vector: Float32Array | null;
  } | null;
}

/** `x-switchyard-cache: no-cache` skips the lookup (the fresh answer is stored); `no-store` skips both. */
function cachePlanFor(
  req: IncomingMessage,
  ctx: RequestContext,
  deps: RouteDeps,
  route: RouteEntry | null,
  body: ChatCompletionRequest,
): CachePlan | null {
  const cfg = route?.options.cache;
  if (!cfg || !deps.cache || !ctx.key || exactCacheBypassReason(body) !== null) return null;
  const directive = cacheDirective(req.headers["x-switchyard-cache"]);
  if (!directive.read) ctx.cacheStatus = "bypass";
  if (!directive.write) return null;
  const namespace = cacheNamespace(cfg.scope, { orgId: ctx.key.orgId, teamId: ctx.key.teamId });
  const key = exactCacheKey(namespace, ctx.requestedModel, body);
  const semantic =
    cfg.semantic && deps.semantic && deps.embed && semanticEligible(body, cfg.semantic)
      ? {
          // Vectors of two embedding models cannot be compared: each has its own index.
          namespace: semanticNamespace(namespace, cfg.semantic.embeddingModel),
          embeddingModel: cfg.semantic.embeddingModel,
          threshold: cfg.semantic.threshold,
          contextHash: semanticContextHash(ctx.requestedModel, body),
          text: semanticText(body),
          vector: null,
        }
      : null;
  return {
    key,
    ttlSeconds: cfg.ttlSeconds,
    lookup: directive.read,
    // A refresh (no-cache) is not coalesced: the client asked for a fresh answer of its own.
    coalesceKey: directive.read
      ? inflightKey(key, {
          stream: ctx.stream,
          includeUsage: body.stream_options?.include_usage === true,
        })
      : null,
    semantic,
  };
}

/** The prompt's embedding, computed once per request; the call's usage is billed as its own event. */
async function embedFor(
  ctx: RequestContext,
  deps: RouteDeps,
  s: NonNullable<CachePlan["semantic"]>,
): Promise<Float32Array | null> {
  if (s.vector) return s.vector;
  const startedAt = performance.now();
  const result = await deps.embed!(s.embeddingModel, ctx.key!.orgId, s.text).catch(() => null);
  if (result)
    ctx.embeddingCalls.push({
      model: result.model,
      usage: result.usage,
      latencyMs: Math.round(performance.now() - startedAt),
    });
  s.vector = result?.vector ?? null;
  return s.vector;
}

async function lookupCache(
  ctx: RequestContext,
  deps: RouteDeps,
  plan: CachePlan,
): Promise<{ answer: CachedAnswer; kind: "hit" | "semantic-hit" } | null> {
  const exact = await deps.cache!.get(plan.key);
  if (exact) return { answer: exact, kind: "hit" };
  if (!plan.semantic) return null;
  const vector = await embedFor(ctx, deps, plan.semantic);
  if (!vector) return null;
  const near = await deps.semantic!.lookup(
    plan.semantic.namespace,
    plan.semantic.contextHash,
    vector,
    plan.semantic.threshold,
  );
  if (!near) return null;
  const answer = await deps.cache!.get(near.answerKey);
  return answer ? { answer, kind: "semantic-hit" } : null;
}

/** Stores a fresh answer (exact, and semantic when eligible); never fails the request. */
async function storeAnswer(
  ctx: RequestContext,
  deps: RouteDeps,
  plan: CachePlan,
  answer: CachedAnswer,
): Promise<void> {
  await deps.cache!.set(plan.key, answer, plan.ttlSeconds);
  if (plan.semantic) {
    const vector = await embedFor(ctx, deps, plan.semantic);
    if (vector)
      await deps.semantic!.add(
        plan.semantic.namespace,
        plan.semantic.contextHash,
        vector,
        plan.key,
        plan.ttlSeconds,
      );
  }
}

function answerHeaders(
  res: ServerResponse,
  answer: CachedAnswer,
  status: "hit" | "semantic-hit" | "coalesced",
): void {
  res.setHeader("x-switchyard-provider", answer.provider);
  res.setHeader("x-switchyard-model", answer.model);
  // The contract's values are hit|miss|semantic-hit: a coalesced answer is a reused one.
  res.setHeader("x-switchyard-cache", status === "coalesced" ? "hit" : status);
}

/** An answer not fetched for this request (cache, or another request's call): $0, saving recorded. */
function useAnswer(
  ctx: RequestContext,
  deps: RouteDeps,
  answer: CachedAnswer,
  status: "hit" | "semantic-hit" | "coalesced",
): void {
  const snapshot = deps.getSnapshot();
  const served = snapshot?.models.get(answer.model);
  ctx.servedModel = answer.model;
  ctx.provider = answer.provider;
  if (snapshot && served) ctx.pricing = pricingFor(snapshot, served, ctx.key?.orgId ?? null);
  ctx.usage = answer.usage;
  ctx.cacheStatus = status;
}

/** Answers from a stored or shared answer, as JSON or replayed as a stream. */
async function replyFromAnswer(
  res: ServerResponse,
  ctx: RequestContext,
  deps: RouteDeps,
  body: ChatCompletionRequest,
  format: ChatFormat,
  answer: CachedAnswer,
  status: "hit" | "semantic-hit" | "coalesced",
): Promise<void> {
  useAnswer(ctx, deps, answer, status);
  answerHeaders(res, answer, status);
  if (ctx.stream) {
    const encoder = format.encoder?.(answer.model);
    startStream(res, ctx, encoder, false); // the whole answer is written next
    const sse = openAiSseFromCompletion(answer.completion, {
      includeUsage: body.stream_options?.include_usage === true,
      id: answer.completion.id,
    });
    await writeStreamPiece(res, ctx, sse, true, encoder);
    endStream(res, ctx, null, encoder);
    if (ctx.bodyLogging !== "off") keepStreamResponse(ctx, [sse]);
    return;
  }
  const json = format.renderJson(answer.completion, ctx, answer.model);
  ctx.status = 200;
  const text = JSON.stringify(json);
  keepResponseBody(ctx, text);
  sendJson(res, 200, text, { "x-switchyard-cost-usd": formatNanoUsd(0n) });
}

/**
 * Follows the leader of an identical request in flight. Returns false when the leader
 * failed before producing anything (the follower then makes its own call).
 */
async function followLeader(
  res: ServerResponse,
  ctx: RequestContext,
  deps: RouteDeps,
  body: ChatCompletionRequest,
  format: ChatFormat,
  follower: Follower,
): Promise<boolean> {
  if (!ctx.stream) {
    const answer = await follower.done;
    if (!answer) return false;
    await replyFromAnswer(res, ctx, deps, body, format, answer, "coalesced");
    return true;
  }
  const events = follower.events()[Symbol.asyncIterator]();
  let next = await events.next();
  if (next.done) {
    const answer = await follower.done;
    if (!answer) return false;
    await replyFromAnswer(res, ctx, deps, body, format, answer, "coalesced");
    return true;
  }
  ctx.cacheStatus = "coalesced";
  // The planned first target: which one the leader ended on is known only when it is done.
  res.setHeader("x-switchyard-cache", "hit");
  if (ctx.provider) res.setHeader("x-switchyard-provider", ctx.provider);
  if (ctx.servedModel) res.setHeader("x-switchyard-model", ctx.servedModel);
  const encoder = format.encoder?.(ctx.servedModel ?? ctx.requestedModel);
  startStream(res, ctx, encoder);
  const streamed: string[] = [];
  for (; !next.done; next = await events.next()) {
    streamed.push(next.value);
    await writeStreamPiece(res, ctx, next.value, ctx.ttftMs === null, encoder);
  }
  const answer = await follower.done;
  if (answer) {
    useAnswer(ctx, deps, answer, "coalesced");
    endStream(res, ctx, null, encoder);
  } else {
    // The leader's stream broke: this client saw the same events, and the same end.
    ctx.status = 502;
    ctx.errorClass = "upstream_stream_interrupted";
    endStream(
      res,
      ctx,
      {
        status: 502,
        message: `Provider "${ctx.provider ?? "unknown"}" ended the stream before it was complete.`,
      },
      encoder,
    );
  }
  keepStreamResponse(ctx, streamed);
  return true;
}

/** Runs the chat request from its parsed, canonical body to the client's answer. */
export async function serveChat(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  deps: RouteDeps,
  parsed: ChatCompletionRequest,
  format: ChatFormat,
): Promise<void> {
  const plan = await planChat(req, ctx, deps, parsed);
  const body = plan.body;
  const first = plan.candidates[0]!;
  await enforceLimits(res, ctx, deps, first, chatDemand(body, first));

  const cache = cachePlanFor(req, ctx, deps, plan.route, body);
  if (cache?.lookup) {
    const hit = await lookupCache(ctx, deps, cache);
    if (hit) {
      deps.metrics.countCache(hit.kind);
      return replyFromAnswer(res, ctx, deps, body, format, hit.answer, hit.kind);
    }
  }
  let leader: Leader | null = null;
  if (cache?.coalesceKey && deps.inflight) {
    const joined = deps.inflight.join(cache.coalesceKey);
    if (joined.role === "follower") {
      if (await followLeader(res, ctx, deps, body, format, joined)) {
        deps.metrics.countCache("coalesced");
        return;
      }
    } else leader = joined;
  }
  let answer: CachedAnswer | null = null;
  try {
    answer = await callAndReply(res, ctx, deps, plan, body, format, leader, cache !== null);
  } finally {
    leader?.finish(answer);
  }
  if (cache) deps.metrics.countCache(ctx.cacheStatus);
  if (answer && cache) await storeAnswer(ctx, deps, cache, answer);
}

/** The provider call with failover, and the answer; returns it for the cache when it is complete. */
async function callAndReply(
  res: ServerResponse,
  ctx: RequestContext,
  deps: RouteDeps,
  plan: ChatPlan,
  body: ChatCompletionRequest,
  format: ChatFormat,
  leader: Leader | null,
  /** Only a cached route needs the answer of a stream assembled (for the cache and followers). */
  wantAnswer: boolean,
): Promise<CachedAnswer | null> {
  const snapshot = deps.getSnapshot();
  const retry = plan.route?.options.retry;
  const cfg = deps.config;
  let candidates: readonly ModelEntry[] = plan.candidates;
  for (;;) {
    const call: ProviderCall = await callWithFailover({
      ctx,
      dispatcher: deps.dispatcher,
      health: deps.health ?? null,
      candidates,
      bodyFor: (m) => (format.bodyFor ? format.bodyFor(m, body) : body),
      extraDroppedParams: format.extraDroppedParams ?? [],
      settings: {
        maxAttempts: retry?.maxAttempts ?? cfg.maxAttempts,
        deadlineAt: ctx.startedAt + (retry?.deadlineMs ?? cfg.requestDeadlineMs),
        headersTimeoutMs: cfg.upstreamHeadersTimeoutMs,
        bodyTimeoutMs: cfg.upstreamBodyTimeoutMs,
        firstByteTimeoutMs: cfg.streamFirstByteTimeoutMs,
        baseBackoffMs: cfg.retryBaseBackoffMs,
        maxBackoffMs: cfg.retryMaxBackoffMs,
        rateLimitRetries: 2,
      },
      httpError: upstreamHttpError,
      observeLatency: (provider, seconds) => deps.metrics.observeUpstreamLatency(provider, seconds),
      onOutcome: (model, result) => deps.metrics.countAttempt(model.name, result),
      onAttempt: (model, prepared) => {
        if (snapshot) setServed(ctx, snapshot, model);
        const dropped = [...(format.extraDroppedParams ?? []), ...prepared.droppedParams];
        if (dropped.length > 0 && ctx.strictRoute) {
          throw new AppError(
            "invalid_request",
            `Provider "${model.provider.slug}" cannot honour ${dropped.join(", ")}, and route "${ctx.strictRoute}" is strict: remove ${dropped.length > 1 ? "them" : "it"} or use a route that is not strict.`,
            { param: dropped[0] ?? null },
          );
        }
        if (dropped.length > 0) res.setHeader("x-switchyard-dropped-params", dropped.join(","));
        else res.removeHeader("x-switchyard-dropped-params");
      },
    });
    const model = call.model;
    res.setHeader("x-switchyard-provider", model.provider.slug);
    res.setHeader("x-switchyard-model", model.name);
    if (!res.hasHeader("x-switchyard-cache")) res.setHeader("x-switchyard-cache", "miss");

    if (call.prepared.stream) {
      const streamed = await pumpStream(
        res,
        ctx,
        call,
        format.encoder?.(model.name),
        leader ? (sse) => leader.publish(sse) : undefined,
      );
      // Followers and the cache get the answer as soon as the stream is over (not after
      // the bookkeeping below), so a later identical request never joins a finished call.
      const completion =
        wantAnswer && ctx.status === 200 && ctx.usage !== null ? completionFromOpenAiSse(streamed) : null;
      const answer = completion && ctx.usage ? answerOf(completion, ctx.usage, model) : null;
      leader?.finish(answer);
      if (ctx.status >= 500 && !ctx.clientAborted) {
        // Broken after its first byte: too late to fail over, but the attempt failed and
        // counts against the target's health.
        const last = ctx.attemptLog[ctx.attemptLog.length - 1];
        if (last) last.errorClass = ctx.errorClass;
        deps.health?.record(model.name, "error");
      }
      await estimateUsageIfMissing(ctx, body, model, null, streamed);
      keepStreamResponse(ctx, streamed);
      return answer;
    }

    // The completion itself is needed to translate it, to cache it, or to look at it for an empty answer.
    const reply = await readCompletion(ctx, call, !format.forwardsProviderBytes || wantAnswer || retry?.onEmptyLength === true);
    ctx.status = call.upstream.statusCode;
    if (!reply.completion && !format.forwardsProviderBytes) {
      ctx.errorClass = "upstream_invalid_response";
      throw new AppError(
        "upstream_error",
        `Provider "${model.provider.slug}" sent a reply that is not a chat completion.`,
      );
    }
    await estimateUsageIfMissing(ctx, body, model, reply.completion);
    const larger =
      retry?.onEmptyLength && isEmptyLengthAnswer(reply.completion)
        ? largerOutputTargets(candidates, model)
        : [];
    if (larger.length > 0 && ctx.attempts < (retry?.maxAttempts ?? cfg.maxAttempts)) {
      // The provider billed the empty answer: it stays on the request's bill, and the next target gets a go.
      ctx.billedBefore = {
        usage: billedUsage(ctx) ?? ZERO_USAGE,
        costNanoUsd: costOf(ctx),
        requestedCostNanoUsd: requestedCostOf(ctx),
      };
      ctx.usage = null;
      ctx.usageSource = undefined;
      const last = ctx.attemptLog[ctx.attemptLog.length - 1];
      if (last) last.errorClass = "empty_length_answer";
      candidates = larger;
      continue;
    }
    const cost = costOf(ctx);
    const headers: Record<string, string> = {};
    if (cost !== null) headers["x-switchyard-cost-usd"] = formatNanoUsd(cost);
    if (format.forwardsProviderBytes) {
      // Added to, not spread into a new literal (see sendJson).
      headers["content-type"] = reply.contentType;
      headers["content-length"] = String(reply.payload.length);
      res.writeHead(call.upstream.statusCode, headers);
      keepResponseBody(ctx, reply.payload);
      res.end(reply.payload);
    } else {
      const json = format.renderJson(reply.completion!, ctx, model.name);
      const text = JSON.stringify(json);
      keepResponseBody(ctx, text);
      ctx.status = 200;
      sendJson(res, 200, text, headers);
    }
    if (!reply.completion || ctx.usageSource === "estimated" || !ctx.usage || ctx.billedBefore)
      return null;
    return {
      completion: reply.completion,
      usage: ctx.usage,
      model: model.name,
      provider: model.provider.slug,
      storedAt: Date.now(),
    };
  }
}

/**
 * A fresh answer as the cache and followers keep it. The completion carries its usage
 * (a stream's only has it when its client asked), so a replay can always report it.
 */
function answerOf(completion: ChatCompletion, usage: TokenUsage, model: ModelEntry): CachedAnswer {
  return {
    completion: completion.usage
      ? completion
      : {
          ...completion,
          usage: toOpenAiUsage(usage, {
            reasoning: usage.reasoningTokens > 0,
            cacheWrite: usage.cacheWriteTokens > 0,
          }),
        },
    usage,
    model: model.name,
    provider: model.provider.slug,
    storedAt: Date.now(),
  };
}

/** `finish_reason: length` with nothing in it: the output limit ran out before any answer (reasoning models). */
function isEmptyLengthAnswer(c: ChatCompletion | null): boolean {
  const choice = c?.choices[0];
  if (!choice || choice.finish_reason !== "length") return false;
  return !choice.message.content && !choice.message.tool_calls?.length;
}

/** The remaining targets known to allow more output than `current` (whose limit must be known). */
function largerOutputTargets(candidates: readonly ModelEntry[], current: ModelEntry): ModelEntry[] {
  const limit = current.capabilities.maxOutputTokens;
  if (limit === undefined) return [];
  return candidates.filter((m) => m !== current && (m.capabilities.maxOutputTokens ?? 0) > limit);
}
