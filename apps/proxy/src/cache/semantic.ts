/**
 * Semantic cache: a request whose last user message is close enough (cosine similarity
 * of embeddings) to an earlier one, asked in the same context, reuses that earlier
 * answer. This index only finds the earlier request: its entries point at the exact
 * cache's key, where the answer itself lives (./exact.ts).
 *
 * Shared across replicas without RediSearch: every namespace is one Redis stream of
 * entries (context hash, vector, answer key, ttl); each replica keeps a local mirror of
 * the streams it uses, brought up to date incrementally (XRANGE from the last id seen)
 * before each lookup, and searches it by brute force. Redis failing is a miss, never an
 * error: the cache is skipped, not the request.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { ChatCompletionRequest, RouteSemanticCache } from "@switchyard/contracts";
import { normaliseForCache } from "./key";

type ChatMessage = ChatCompletionRequest["messages"][number];

/** Bumped whenever the context hash changes meaning, so old entries stop matching. */
const CONTEXT_VERSION = 1;

/** Text of a message's content: the string, or its text parts joined; null when it holds anything but text. */
function textOf(content: ChatMessage["content"]): string | null {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return null;
  const texts: string[] = [];
  for (const part of content) {
    if (part.type !== "text" || typeof part.text !== "string") return null;
    texts.push(part.text);
  }
  return texts.join("\n");
}

/** Images, audio, files: anything but text in a message makes the request ineligible (the embedding sees text only). */
function hasNonTextContent(m: ChatMessage): boolean {
  return Array.isArray(m.content) && m.content.some((p) => p.type !== "text");
}

function nonEmptyArray(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

/**
 * Whether a request may be answered from (and stored in) the semantic cache: a plain
 * text question whose answer does not depend on sampling luck or on tools. No tools or
 * functions (declared, or calls in the history), one choice, no logprobs, no audio
 * output, text only, the last message the user's with some text, and a temperature (1
 * when unset, the providers' default) at or below the route's `maxTemperature`.
 */
export function semanticEligible(body: ChatCompletionRequest, cfg: RouteSemanticCache): boolean {
  if (nonEmptyArray(body.tools) || nonEmptyArray(body.functions)) return false;
  if ((body.n ?? 1) > 1) return false;
  if (body.logprobs === true) return false;
  if (Array.isArray(body.modalities) && body.modalities.some((m) => m !== "text")) return false;
  if (body.audio != null) return false;
  const temperature = typeof body.temperature === "number" ? body.temperature : 1;
  if (temperature > cfg.maxTemperature) return false;
  for (const m of body.messages) {
    if (m.role === "tool" || m.role === "function" || nonEmptyArray(m.tool_calls) || m.function_call != null) return false;
    if (hasNonTextContent(m)) return false;
  }
  const last = body.messages.at(-1);
  if (!last || last.role !== "user") return false;
  const text = textOf(last.content);
  return text !== null && text.trim() !== "";
}

/** What is embedded: the last user message's text (text parts joined by newlines). */
export function semanticText(body: ChatCompletionRequest): string {
  const last = body.messages.at(-1);
  return (last && textOf(last.content)) ?? "";
}

/**
 * sha256 of everything besides the embedded text that changes the answer: the model
 * or route the client named, the system prompt and earlier turns, the last message's
 * other fields (name), response_format, max tokens, stop, seed, …, normalised as the
 * exact cache normalises them. Only requests with the same context hash can match.
 * `temperature` is left out: eligibility already bounds it at the route's
 * maxTemperature, and answers at any such temperature are meant to be shared.
 */
export function semanticContextHash(requestedModel: string, body: ChatCompletionRequest): string {
  const { temperature: _temperature, ...rest } = body;
  const messages = body.messages.map((m, i) => {
    if (i !== body.messages.length - 1) return m;
    const { content: _content, ...others } = m;
    return others;
  });
  const material = JSON.stringify({ v: CONTEXT_VERSION, model: requestedModel, request: normaliseForCache({ ...rest, messages }) });
  return createHash("sha256").update(material).digest("hex");
}

/**
 * The namespace of a semantic index: whose requests share answers (the exact cache's
 * namespace, see cacheNamespace in ./key) and the embedding model, since vectors of two
 * models are not comparable.
 */
export function semanticNamespace(cacheNamespace: string, embeddingModel: string): string {
  return `${cacheNamespace}:emb:${embeddingModel}`;
}

/** Little-endian float32 bytes as base64 (what is stored in Redis). */
export function encodeVector(v: Float32Array): string {
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf.toString("base64");
}

export function decodeVector(b64: string): Float32Array {
  const buf = Buffer.from(b64, "base64");
  const out = new Float32Array(Math.floor(buf.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** The vector scaled to length 1 (null for a zero or non-finite vector, which matches nothing). */
function unit(v: Float32Array): Float32Array | null {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!Number.isFinite(norm) || norm === 0) return null;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

interface MirrorEntry {
  /** Stream id: arrival order. */
  id: string;
  contextHash: string;
  /** Unit length. */
  vector: Float32Array;
  answerKey: string;
  /** ms since the epoch, on the Redis server's clock (the stream id's time) plus the ttl. */
  expiresAt: number;
}

/** One namespace as this replica knows it. */
interface Mirror {
  /** Last stream id read; "-" before the first read. */
  lastId: string;
  /** Entries in arrival order (oldest first), at most maxEntries. */
  order: MirrorEntry[];
  byContext: Map<string, MirrorEntry[]>;
  /** Shared by concurrent lookups so a namespace is read once at a time. */
  syncing: Promise<void> | null;
}

export interface SemanticIndexOptions {
  /** null: entries live in this process only (a single replica without Redis). */
  redis: Redis | null;
  /** Prefix of the Redis keys, e.g. "sy:semantic"; one stream per namespace under it. */
  prefix: string;
  /** Entries kept per namespace, oldest dropped first (default 5000). */
  maxEntries?: number;
  /** Bound on each Redis round trip; slower counts as a miss (default 250 ms). */
  timeoutMs?: number;
  /** Namespaces mirrored in memory at once, least recently used dropped first (default 256). */
  maxNamespaces?: number;
  /** Entries read per XRANGE call while syncing (default 500). */
  batchSize?: number;
  /** Clock (ms since the epoch), for tests. */
  now?: () => number;
}

class RedisTimeout extends Error {}

/** Stream ids are "<ms>-<seq>": the ms is the Redis server's clock when the entry was added. */
function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/** A field of an XRANGE entry ([field, value, field, value, …]). */
function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/**
 * The semantic index over all namespaces. Entries are appended to the Redis stream
 * `<prefix>:<namespace>` (XADD … MAXLEN ~ maxEntries, vectors as base64 float32); a
 * lookup first reads what other replicas added since this one last looked, then
 * compares the query with every unexpired entry of the same context hash.
 */
export class SemanticIndex {
  private readonly redis: Redis | null;
  private readonly prefix: string;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;
  private readonly maxNamespaces: number;
  private readonly batchSize: number;
  private readonly now: () => number;
  /** Insertion order = recency (touched entries are re-inserted). */
  private readonly mirrors = new Map<string, Mirror>();
  /** Sequence of local-only entries (redis null). */
  private localSeq = 0;

  constructor(opts: SemanticIndexOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.maxEntries = opts.maxEntries ?? 5000;
    this.timeoutMs = opts.timeoutMs ?? 250;
    this.maxNamespaces = opts.maxNamespaces ?? 256;
    this.batchSize = opts.batchSize ?? 500;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The most similar unexpired entry of this namespace and context at or above
   * `threshold` (ties: the newest), or null. Never throws: a Redis failure is a miss.
   */
  async lookup(namespace: string, contextHash: string, vector: Float32Array, threshold: number): Promise<{ answerKey: string; similarity: number } | null> {
    const query = unit(vector);
    if (!query) return null;
    const mirror = this.mirror(namespace);
    if (this.redis) {
      try {
        await this.sync(namespace, mirror);
      } catch {
        return null;
      }
    }
    const candidates = mirror.byContext.get(contextHash);
    if (!candidates) return null;
    const now = this.now();
    let best: { answerKey: string; similarity: number } | null = null;
    let expired = 0;
    for (const e of candidates) {
      if (e.expiresAt <= now) {
        expired++;
        continue;
      }
      if (e.vector.length !== query.length) continue; // another embedding size: not comparable
      const similarity = dot(query, e.vector);
      if (similarity >= threshold && (!best || similarity >= best.similarity)) best = { answerKey: e.answerKey, similarity };
    }
    if (expired > 0) this.dropExpired(mirror, contextHash, now);
    return best;
  }

  /**
   * Records that `answerKey` answers a request with this context and embedding, for
   * `ttlSeconds` (no longer than the answer itself is kept). Never throws.
   */
  async add(namespace: string, contextHash: string, vector: Float32Array, answerKey: string, ttlSeconds: number): Promise<void> {
    const v = unit(vector);
    if (!v || !(ttlSeconds > 0)) return;
    if (!this.redis) {
      const mirror = this.mirror(namespace);
      this.localSeq++;
      this.append(mirror, { id: `${this.now()}-${this.localSeq}`, contextHash, vector: v, answerKey, expiresAt: this.now() + ttlSeconds * 1000 });
      return;
    }
    const key = this.streamKey(namespace);
    const ttlMs = Math.ceil(ttlSeconds * 1000);
    try {
      await this.withTimeout(
        this.redis
          .multi()
          .xadd(key, "MAXLEN", "~", this.maxEntries, "*", "c", contextHash, "v", encodeVector(v), "k", answerKey, "t", String(ttlMs))
          // The stream lives as long as its longest-lived entry: set a ttl when it has none, extend it otherwise.
          .pexpire(key, ttlMs, "NX")
          .pexpire(key, ttlMs, "GT")
          .exec(),
      );
    } catch {
      // Not cached this time; the answer itself was already sent.
    }
  }

  private streamKey(namespace: string): string {
    return `${this.prefix}:${namespace}`;
  }

  private mirror(namespace: string): Mirror {
    let m = this.mirrors.get(namespace);
    if (m) {
      // Most recently used last.
      this.mirrors.delete(namespace);
      this.mirrors.set(namespace, m);
      return m;
    }
    m = { lastId: "-", order: [], byContext: new Map(), syncing: null };
    this.mirrors.set(namespace, m);
    while (this.mirrors.size > this.maxNamespaces) {
      const oldest = this.mirrors.keys().next().value;
      if (oldest === undefined) break;
      this.mirrors.delete(oldest);
    }
    return m;
  }

  /** Reads the entries added since the last read (by any replica); concurrent callers share one read. */
  private sync(namespace: string, mirror: Mirror): Promise<void> {
    if (!mirror.syncing) {
      mirror.syncing = this.readNew(namespace, mirror).finally(() => {
        mirror.syncing = null;
      });
    }
    return mirror.syncing;
  }

  private async readNew(namespace: string, mirror: Mirror): Promise<void> {
    const redis = this.redis!;
    const key = this.streamKey(namespace);
    for (;;) {
      const start = mirror.lastId === "-" ? "-" : `(${mirror.lastId}`;
      const batch = await this.withTimeout(redis.xrange(key, start, "+", "COUNT", this.batchSize));
      for (const [id, fields] of batch) {
        mirror.lastId = id;
        const contextHash = field(fields, "c");
        const b64 = field(fields, "v");
        const answerKey = field(fields, "k");
        const ttlMs = Number(field(fields, "t"));
        if (contextHash === undefined || b64 === undefined || answerKey === undefined || !(ttlMs > 0)) continue;
        const expiresAt = streamIdMs(id) + ttlMs;
        if (expiresAt <= this.now()) continue;
        this.append(mirror, { id, contextHash, vector: decodeVector(b64), answerKey, expiresAt });
      }
      if (batch.length < this.batchSize) return;
    }
  }

  private append(mirror: Mirror, entry: MirrorEntry): void {
    mirror.order.push(entry);
    let list = mirror.byContext.get(entry.contextHash);
    if (!list) mirror.byContext.set(entry.contextHash, (list = []));
    list.push(entry);
    const excess = mirror.order.length - this.maxEntries;
    if (excess <= 0) return;
    // The oldest overall are the oldest of their context too: they head their lists.
    for (const old of mirror.order.splice(0, excess)) {
      const l = mirror.byContext.get(old.contextHash);
      if (!l) continue;
      const at = l.indexOf(old);
      if (at >= 0) l.splice(at, 1);
      if (l.length === 0) mirror.byContext.delete(old.contextHash);
    }
  }

  private dropExpired(mirror: Mirror, contextHash: string, now: number): void {
    const list = mirror.byContext.get(contextHash);
    if (!list) return;
    const live = list.filter((e) => e.expiresAt > now);
    if (live.length > 0) mirror.byContext.set(contextHash, live);
    else mirror.byContext.delete(contextHash);
    const gone = new Set(list.filter((e) => e.expiresAt <= now));
    mirror.order = mirror.order.filter((e) => !gone.has(e));
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeout(`semantic index: Redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    // A late answer or failure after the timeout is dropped, not left unhandled.
    p.catch(() => undefined);
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}
