import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, type Dispatcher } from "undici";
import { AppError, type UsageEvent } from "@switchyard/contracts";
import { computeCostNanoUsd, formatNanoUsd } from "@switchyard/pricing";
import { billedUsage, costOf, newRequestContext, requestedCostOf, type ProxyConfig, type RequestContext, type RouteDeps } from "./context";
import { sendAnthropicError, sendError } from "./http";
import { InflightRequests } from "./cache/coalesce";
import { createEmbedder } from "./cache/embedder";
import type { ExactCache } from "./cache/exact";
import type { SemanticIndex } from "./cache/semantic";
import type { Limits } from "./limits";
import type { HealthMonitor } from "./routing/health";
import { formatLogLine } from "./log-line";
import type { Logger } from "./logger";
import type { ProxyMetrics } from "./metrics";
import { logBodies } from "./redact";
import { handleChatCompletions } from "./routes/chat-completions";
import { handleEmbeddings } from "./routes/embeddings";
import { handleHealthz, handleMetrics, handleReadyz } from "./routes/health";
import { handleMessages } from "./routes/messages";
import { handleListModels } from "./routes/models";
import { pricingFor, type KeyEntry, type Snapshot } from "./snapshot";

export type { ProxyConfig } from "./context";

export interface ProxyDeps {
  config: ProxyConfig;
  getSnapshot: () => Snapshot | null;
  /** Receives one event per request that passed authentication, after its response is finished. */
  recordUsage: (event: UsageEvent) => void;
  redisReachable: () => Promise<boolean>;
  metrics: ProxyMetrics;
  logger: Logger;
  /** undici dispatcher for provider calls (default: a keep-alive Agent owned by the proxy). */
  dispatcher?: Dispatcher;
  /** Rate limits and budgets (default: none enforced). */
  limits?: Limits | null;
  /** Target health for routing and failover (default: every target healthy). */
  health?: HealthMonitor | null;
  /** Response caches (default: none; routes with `cache` then do not cache). */
  cache?: ExactCache | null;
  semantic?: SemanticIndex | null;
}

export interface Proxy {
  server: Server;
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void | Promise<void>;

/**
 * The semantic cache's embedding call, billed as an embeddings request of the same key
 * (request id: the chat request's plus "-emb"), tagged so analytics can tell it apart.
 */
function embeddingCallEvent(ctx: RequestContext, key: KeyEntry, call: RequestContext["embeddingCalls"][number], snapshot: Snapshot | null): UsageEvent {
  const pricing = snapshot ? pricingFor(snapshot, call.model, key.orgId) : null;
  const cost = pricing ? computeCostNanoUsd(call.usage, pricing).toString() : null;
  return {
    requestId: `${ctx.requestId}-emb`,
    occurredAt: ctx.occurredAt.toISOString(),
    orgId: key.orgId,
    teamId: key.teamId,
    virtualKeyId: key.id,
    endUser: ctx.endUser,
    tags: { ...ctx.tags, switchyard: "semantic-cache" },
    endpoint: "embeddings",
    requestedModel: call.model.name,
    servedModel: call.model.name,
    provider: call.model.provider.slug,
    stream: false,
    status: 200,
    errorClass: null,
    usage: call.usage,
    usageSource: "provider",
    costNanoUsd: cost,
    requestedCostNanoUsd: cost,
    cacheStatus: "miss",
    latencyMs: call.latencyMs,
    ttftMs: null,
    attempts: 1,
    attemptLog: [],
    bodies: null,
  };
}

/** The HTTP server of the proxy, with no I/O of its own besides the provider calls. */
export function createProxy(deps: ProxyDeps): Proxy {
  const ownDispatcher = deps.dispatcher ? null : new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });
  const routeDeps: RouteDeps = {
    config: deps.config,
    getSnapshot: deps.getSnapshot,
    dispatcher: deps.dispatcher ?? (ownDispatcher as Dispatcher),
    metrics: deps.metrics,
    logger: deps.logger,
    limits: deps.limits ?? null,
    health: deps.health ?? null,
    cache: deps.cache ?? null,
    semantic: deps.semantic ?? null,
    embed: null,
    inflight: deps.cache ? new InflightRequests() : null,
  };
  // The semantic cache embeds through the gateway's own providers, i.e. these route deps.
  if (routeDeps.semantic) routeDeps.embed = createEmbedder(routeDeps);

  const routes: Record<string, Partial<Record<string, Route>>> = {
    "/v1/chat/completions": { POST: (req, res, ctx) => handleChatCompletions(req, res, ctx, routeDeps) },
    "/v1/messages": { POST: (req, res, ctx) => handleMessages(req, res, ctx, routeDeps) },
    "/v1/embeddings": { POST: (req, res, ctx) => handleEmbeddings(req, res, ctx, routeDeps) },
    "/v1/models": { GET: (req, res, ctx) => handleListModels(req, res, ctx, routeDeps) },
    "/healthz": { GET: (_req, res, ctx) => handleHealthz(res, ctx) },
    "/readyz": {
      GET: (_req, res, ctx) => handleReadyz(res, ctx, { snapshotLoaded: () => deps.getSnapshot() !== null, redisReachable: deps.redisReachable }),
    },
    "/metrics": { GET: (_req, res, ctx) => handleMetrics(res, ctx, deps.metrics) },
  };

  let active = 0;
  const idleWaiters: (() => void)[] = [];

  /** Runs once the response is closed AND the handler has settled, so the event sees everything. */
  function finalize(ctx: RequestContext): void {
    active--;
    if (active === 0) idleWaiters.splice(0).forEach((w) => w());
    if (ctx.clientAborted) {
      ctx.status = 499;
      ctx.errorClass = "client_disconnected";
    }
    const latencyMs = Math.round(performance.now() - ctx.startedAt);
    const cost = ctx.endpoint ? costOf(ctx) : null;
    const requestedCost = ctx.endpoint ? requestedCostOf(ctx, cost) : null;
    const usageSource = ctx.usageSource ?? (ctx.usage ? "provider" : "none");
    const model = ctx.servedModel ?? "none";
    if (ctx.endpoint) {
      deps.metrics.countRequest(ctx.status, model, ctx.endpoint);
      if (cost === null) deps.metrics.countUnpriced(model);
    }
    // The budget gets exactly what the usage event records; fire-and-forget, once.
    routeDeps.limits?.settle(ctx, cost);
    if (ctx.endpoint && ctx.key) {
      deps.recordUsage({
        requestId: ctx.requestId,
        occurredAt: ctx.occurredAt.toISOString(),
        orgId: ctx.key.orgId,
        teamId: ctx.key.teamId,
        virtualKeyId: ctx.key.id,
        endUser: ctx.endUser,
        tags: ctx.tags,
        endpoint: ctx.endpoint,
        requestedModel: ctx.requestedModel,
        servedModel: ctx.servedModel,
        provider: ctx.provider,
        stream: ctx.stream,
        status: ctx.status,
        errorClass: ctx.errorClass,
        usage: billedUsage(ctx) ?? { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
        // A route that estimated the usage (tokenizer) says so; otherwise no provider usage means "none".
        usageSource,
        costNanoUsd: cost === null ? null : cost.toString(),
        cacheStatus: ctx.cacheStatus,
        latencyMs,
        ttftMs: ctx.ttftMs,
        attempts: ctx.attempts,
        attemptLog: ctx.attemptLog,
        requestedCostNanoUsd: requestedCost === null ? null : requestedCost.toString(),
        bodies: logBodies(ctx.bodyLogging, ctx.requestBody, ctx.responseBody, deps.config.bodyLogMaxBytes),
      });
    }
    if (ctx.key) for (const call of ctx.embeddingCalls) deps.recordUsage(embeddingCallEvent(ctx, ctx.key, call, deps.getSnapshot()));
    // Done with them: the event holds the (capped, maybe redacted) copies.
    ctx.requestBody = null;
    ctx.responseBody = null;
    // One line per request; never the key, never the prompt.
    if ((ctx.endpoint || ctx.status >= 400) && deps.logger.isLevelEnabled("info")) {
      deps.logger.info(
        {
          requestId: ctx.requestId,
          clientRequestId: ctx.clientRequestId ?? undefined,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          keyId: ctx.key?.id,
          model: ctx.requestedModel || undefined,
          servedModel: ctx.servedModel ?? undefined,
          provider: ctx.provider ?? undefined,
          stream: ctx.endpoint ? ctx.stream : undefined,
          inputTokens: ctx.usage?.inputTokens,
          outputTokens: ctx.usage?.outputTokens,
          cachedInputTokens: ctx.usage?.cachedInputTokens || undefined,
          costUsd: cost === null ? (ctx.endpoint ? "unpriced" : undefined) : formatNanoUsd(cost),
          errorClass: ctx.errorClass ?? undefined,
          latencyMs,
          ttftMs: ctx.ttftMs ?? undefined,
          chunks: ctx.stream ? ctx.chunks : undefined,
          cacheStatus: ctx.endpoint ? ctx.cacheStatus : undefined,
          usageSource: ctx.endpoint ? usageSource : undefined,
          requestedCostUsd: requestedCost === null ? undefined : formatNanoUsd(requestedCost),
          endUser: ctx.endUser ?? undefined,
          tags: Object.keys(ctx.tags).length > 0 ? ctx.tags : undefined,
        },
        formatLogLine({
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          errorClass: ctx.errorClass,
          requestedModel: ctx.requestedModel,
          servedModel: ctx.servedModel,
          provider: ctx.provider,
          usage: ctx.usage,
          usageSource,
          costNanoUsd: cost,
          cacheStatus: ctx.cacheStatus,
          ttftMs: ctx.ttftMs,
          latencyMs,
          stream: ctx.stream,
          chunks: ctx.chunks,
        }),
      );
    }
  }

  function onError(err: unknown, req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void {
    if (ctx.clientAborted) return;
    const appErr = err instanceof AppError ? err : new AppError("internal_error", "Internal error in the gateway.", { cause: err });
    if (!(err instanceof AppError)) deps.logger.error({ err, requestId: ctx.requestId }, "unhandled error");
    ctx.status = appErr.status;
    ctx.errorClass ??= appErr.code;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (appErr.code === "request_too_large") {
      // Do not read the rest of an oversized body: answer, then close the connection.
      res.setHeader("connection", "close");
      res.once("finish", () => req.socket.destroySoon());
    }
    // Anthropic SDK clients get Anthropic's error shape on its API's paths.
    if (ctx.path === "/v1/messages" || ctx.path.startsWith("/v1/messages/")) sendAnthropicError(res, appErr);
    else sendError(res, appErr);
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const method = req.method ?? "GET";
    const ctx = newRequestContext(method, path);
    // A client's own x-request-id is only logged next to ours, for correlation (see context.ts).
    const clientId = req.headers["x-request-id"];
    if (typeof clientId === "string" && clientId) ctx.clientRequestId = clientId.slice(0, 128);
    active++;
    res.setHeader("x-request-id", ctx.requestId);
    const methods = routes[path];
    const route = methods?.[method];
    const handled = (async () => {
      if (!methods) throw new AppError("not_found", `Unknown request URL: ${method} ${path}.`);
      if (!route) throw new AppError("method_not_allowed", `Method ${method} is not allowed on ${path}.`, { headers: { allow: Object.keys(methods).join(", ") } });
      await route(req, res, ctx);
    })().catch((err: unknown) => onError(err, req, res, ctx));
    res.once("close", () => {
      // Closed before the whole response went out: the client left. Stop the provider call.
      if (!res.writableFinished) {
        ctx.clientAborted = true;
        ctx.abortUpstream?.();
      }
      void handled.finally(() => finalize(ctx));
    });
  });
  // Longer than typical load balancer idle timeouts, so the LB closes first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Streams can run for minutes; the upstream body timeout bounds them instead.
  server.requestTimeout = 0;

  return {
    server,
    listen(port, host = "0.0.0.0") {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (active > 0) {
        await Promise.race([new Promise<void>((r) => idleWaiters.push(r)), new Promise((r) => setTimeout(r, graceMs).unref())]);
      }
      server.closeAllConnections();
      await closed;
      await ownDispatcher?.close();
    },
  };
}
