/**
 * Embeddings for the semantic cache, from an embedding model this gateway serves,
 * called through the same provider adapters as POST /v1/embeddings. Any failure (unknown
 * model, provider error, timeout, odd reply) gives null: the semantic cache is skipped
 * for that request, the request itself goes on.
 */
import { request as undiciRequest } from "undici";
import type { TokenUsage } from "@switchyard/contracts";
import { decodeFloat32Base64, type EmbeddingRequest } from "@switchyard/providers";
import type { RouteDeps } from "../context";
import { interpretEmbeddingReply, prepareEmbeddingCall } from "../routes/embeddings";
import { resolveModel, type ModelEntry } from "../snapshot";

export interface Embedding {
  vector: Float32Array;
  /** What the embedding call consumed (the provider's count, or the tokenizer's). */
  usage: TokenUsage;
  /** The embedding model that served it (a route alias resolves to its first target). */
  model: ModelEntry;
}

/**
 * Embeds `text` with the gateway model `modelName` (a model name or route alias, as
 * visible to organisation `orgId`); null on any failure.
 */
export type Embedder = (modelName: string, orgId: string, text: string, signal?: AbortSignal) => Promise<Embedding | null>;

export interface EmbedderOptions {
  /** Bound on one embedding call, headers and body (default 5000 ms): a slow embedder must not hold up the request much. */
  timeoutMs?: number;
}

/** The first vector of an OpenAI-shaped embeddings list (floats or base64 float32). */
function firstVector(list: unknown): Float32Array | null {
  const data = (list as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length === 0) return null;
  const embedding = (data[0] as { embedding?: unknown } | null)?.embedding;
  if (typeof embedding === "string") return Float32Array.from(decodeFloat32Base64(embedding));
  if (Array.isArray(embedding) && embedding.length > 0 && embedding.every((x) => typeof x === "number")) return Float32Array.from(embedding);
  return null;
}

/** What the embedder uses of the route dependencies (a RouteDeps will do). */
export type EmbedderDeps = Pick<RouteDeps, "getSnapshot" | "dispatcher" | "metrics" | "logger"> & {
  config: Pick<RouteDeps["config"], "upstreamHeadersTimeoutMs" | "upstreamBodyTimeoutMs">;
};

export function createEmbedder(deps: EmbedderDeps, opts: EmbedderOptions = {}): Embedder {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return async (modelName, orgId, text, signal) => {
    const snapshot = deps.getSnapshot();
    const resolved = snapshot ? resolveModel(snapshot, modelName, orgId) : null;
    if (!resolved) {
      deps.logger.warn({ embeddingModel: modelName }, "semantic cache: the embedding model does not exist; cache skipped");
      return null;
    }
    const model = resolved.model;
    // base64: a quarter of the bytes of JSON floats; adapters for providers without it re-encode.
    const body: EmbeddingRequest = { model: modelName, input: text, encoding_format: "base64" };
    try {
      const { adapter, prepared } = prepareEmbeddingCall(model, body);
      const timeout = AbortSignal.timeout(timeoutMs);
      const sentAt = performance.now();
      const upstream = await undiciRequest(prepared.http.url, {
        method: prepared.http.method,
        headers: prepared.http.headers,
        body: prepared.http.body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        dispatcher: deps.dispatcher,
        headersTimeout: Math.min(timeoutMs, deps.config.upstreamHeadersTimeoutMs),
        bodyTimeout: Math.min(timeoutMs, deps.config.upstreamBodyTimeoutMs),
      });
      deps.metrics.observeUpstreamLatency(model.provider.slug, (performance.now() - sentAt) / 1000);
      const payload = Buffer.from(await upstream.body.arrayBuffer());
      if (upstream.statusCode >= 400) {
        deps.logger.warn({ embeddingModel: modelName, provider: model.provider.slug, status: upstream.statusCode }, "semantic cache: embedding call failed; cache skipped");
        return null;
      }
      const reply = await interpretEmbeddingReply(model, body, adapter, prepared, payload);
      const vector = firstVector(reply.translated ?? reply.parsed);
      if (!vector) {
        deps.logger.warn({ embeddingModel: modelName, provider: model.provider.slug }, "semantic cache: embedding reply holds no vector; cache skipped");
        return null;
      }
      return { vector, usage: reply.usage, model };
    } catch (err) {
      // The client going away is not worth a warning.
      if (!signal?.aborted) {
        deps.logger.warn({ embeddingModel: modelName, provider: model.provider.slug, err: err instanceof Error ? err.message : String(err) }, "semantic cache: embedding call failed; cache skipped");
      }
      return null;
    }
  };
}
