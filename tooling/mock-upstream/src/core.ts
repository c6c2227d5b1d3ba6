import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

/** One request the mock received. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string without `?` ("" when none). */
  query: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON when the body was JSON, else the raw text ("" for no body). */
  body: unknown;
  /** Set when the client closed the connection before the mock finished answering. */
  aborted: boolean;
  /** Set when the mock finished writing its answer. */
  completed: boolean;
  /** The fault injected into this request (from the header, queue, per-model or standing fault); null when none. */
  fault: string | null;
}

/** What a personality gets for one request that passed auth and fault injection. */
export interface MockRequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  rec: RecordedRequest;
  /** The path below the personality's basePath, e.g. "/chat/completions". */
  path: string;
  /** `x-mock-scenario` header or setScenario value, if any. */
  scenario: string | undefined;
  /** Delay between stream events in ms (0: one event per event-loop turn). */
  eventDelayMs: number;
  /** `stream-cut` / `reset-mid-stream` fault: stop midway and close the socket. */
  cut: boolean;
  /** `slow-first-token:<ms>` fault: headers go out at once, the first event (or the JSON body) after this many ms. */
  firstTokenDelayMs: number;
  /** How /embeddings vectors are made: opaque per-text hashes, or the lexical embedder (similar wording → similar vectors). */
  embeddings: MockEmbeddingMode;
}

/** "hash": a unit vector unique to the exact input (default); "lexical": see providers/lexical-embedding.ts. */
export type MockEmbeddingMode = "hash" | "lexical";

/**
 * A provider's wire behaviour: where it lives, how it authenticates, what its errors
 * look like and how it answers. One file per provider under src/providers/.
 */
export interface MockPersonality {
  /** Path prefix of the API, e.g. "/v1" (OpenAI, Anthropic) or "/v1beta" (Gemini). */
  readonly basePath: string;
  /** null when the request is authorised; otherwise the status and body to answer with. */
  authorize(req: IncomingMessage, rec: RecordedRequest): { status: number; body: string } | null;
  /** The provider's error body for an injected `status:<code>` fault. */
  errorBody(status: number): string;
  /** Headers the provider sends with that error by default (e.g. Anthropic's 429 retry-after). */
  errorHeaders?(status: number): Record<string, string>;
  handle(ctx: MockRequestContext): Promise<void>;
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

/**
 * Under `slow-first-token`: flushes the status line and headers now and waits before the
 * first byte of the body, as a model that accepted the request but is slow to start does.
 * False when the client went away meanwhile.
 */
async function holdFirstToken(ctx: MockRequestContext): Promise<boolean> {
  if (ctx.firstTokenDelayMs <= 0) return true;
  ctx.res.flushHeaders();
  await sleep(ctx.firstTokenDelayMs);
  return !ctx.res.destroyed;
}

/** A non-streaming reply, or half of it and a dropped socket under the `stream-cut` fault. */
export async function sendRecordedJson(ctx: MockRequestContext, body: string): Promise<void> {
  ctx.res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  if (!(await holdFirstToken(ctx))) return;
  if (!ctx.cut) {
    ctx.res.end(body);
    return;
  }
  ctx.res.write(body.slice(0, Math.floor(body.length / 2)));
  await sleep(5);
  ctx.req.socket.destroy();
}

/**
 * Writes recorded stream frames one by one (each already framed, e.g. `data: {…}\n\n`
 * or a JSON line), pausing between them as a real provider would. Under `stream-cut`
 * it stops halfway and drops the socket; under `slow-first-token` the first frame waits.
 */
export async function writeFrames(ctx: MockRequestContext, frames: string[], contentType = "text/event-stream; charset=utf-8"): Promise<void> {
  const stopAt = ctx.cut ? Math.ceil(frames.length / 2) : frames.length;
  ctx.res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache", connection: "keep-alive" });
  if (!(await holdFirstToken(ctx))) return;
  for (let i = 0; i < stopAt; i++) {
    if (ctx.res.destroyed) return;
    ctx.res.write(frames[i]);
    if (ctx.eventDelayMs > 0) await sleep(ctx.eventDelayMs);
    else await new Promise((r) => setImmediate(r));
  }
  if (ctx.cut) {
    ctx.req.socket.destroy();
    return;
  }
  ctx.res.end();
}
