/**
 * The exact response cache in Redis. It sits on the request path, so it may only ever
 * make a request faster: a Redis error, a slow Redis or a value we cannot read is a
 * miss (or a skipped write), counted for the metrics, never an error for the client.
 */
import type { Redis } from "ioredis";
import { z } from "zod";
import { tokenUsageSchema, type ChatCompletion, type TokenUsage } from "@switchyard/contracts";

/** A stored answer: what the client gets back on a hit and what the hit's usage event records. */
export interface CachedAnswer {
  completion: ChatCompletion;
  /** The tokens the original call used: the saving a hit records (a hit itself costs $0). */
  usage: TokenUsage;
  /** The public model that served the original call. */
  model: string;
  /** The provider slug that served the original call. */
  provider: string;
  /** When it was stored (ms since the epoch). */
  storedAt: number;
}

/**
 * What the client's `x-switchyard-cache` header allows: `no-cache` skips the lookup but
 * stores the fresh answer (a refresh); `no-store` neither reads nor writes. Anything
 * else (or no header) is the default, both. Values are case-insensitive and may be
 * listed (`no-cache, no-store`).
 */
export function cacheDirective(header: string | string[] | undefined): { read: boolean; write: boolean } {
  const values = (Array.isArray(header) ? header.join(",") : (header ?? "")).toLowerCase().split(",").map((v) => v.trim());
  const noStore = values.includes("no-store");
  return { read: !noStore && !values.includes("no-cache"), write: !noStore };
}

// Checked on read: a value written by another version, or damaged, must be a miss rather than a bad answer.
const toolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});
const cachedAnswerSchema = z.object({
  completion: z.looseObject({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: z.number(),
    model: z.string(),
    choices: z
      .array(
        z.looseObject({
          index: z.number().int().nonnegative(),
          message: z.looseObject({
            role: z.literal("assistant"),
            content: z.string().nullable(),
            tool_calls: z.array(toolCallSchema).optional(),
          }),
          finish_reason: z.enum(["stop", "length", "tool_calls", "content_filter", "function_call"]).nullable(),
        }),
      )
      .min(1),
  }),
  usage: tokenUsageSchema,
  model: z.string(),
  provider: z.string(),
  storedAt: z.number(),
});

const TIMED_OUT = Symbol("timed out");

export interface ExactCacheOptions {
  /**
   * Best a connection that fails fast (no offline queue, few retries), like the usage
   * producer's: a command that is merely queued still costs the request `timeoutMs`.
   */
  redis: Redis;
  /** Key prefix shared with the other Switchyard keys of this deployment (e.g. "switchyard:"). */
  prefix: string;
  /** How long a read or write may take before it counts as a miss; default 50 ms. */
  timeoutMs?: number;
  /** Answers larger than this (JSON bytes) are not stored; default 1 MiB. */
  maxValueBytes?: number;
}

export class ExactCache {
  /** Redis errors and timeouts (reads and writes). */
  errors = 0;
  /** Stored values that could not be read back (corrupt or another shape): served as misses. */
  corrupt = 0;
  /** Answers not stored because they exceed maxValueBytes. */
  tooLarge = 0;

  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly maxValueBytes: number;

  constructor(opts: ExactCacheOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix;
    this.timeoutMs = opts.timeoutMs ?? 50;
    this.maxValueBytes = opts.maxValueBytes ?? 1024 * 1024;
  }

  /** The Redis key of a cache key (from exactCacheKey). */
  redisKey(key: string): string {
    return `${this.prefix}cache:exact:${key}`;
  }

  /** The stored answer, or null on a miss, a Redis failure or an unreadable value. */
  async get(key: string): Promise<CachedAnswer | null> {
    const raw = await this.bounded(this.redis.get(this.redisKey(key)));
    if (raw === TIMED_OUT || raw === null) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      this.corrupt++;
      return null;
    }
    const checked = cachedAnswerSchema.safeParse(parsed);
    if (!checked.success) {
      this.corrupt++;
      return null;
    }
    // The schema checks what a replay relies on; the rest of the completion passes through as stored.
    return { ...checked.data, completion: checked.data.completion as unknown as ChatCompletion };
  }

  /** Stores an answer for `ttlSeconds`; too large answers and Redis failures are skipped. */
  async set(key: string, answer: CachedAnswer, ttlSeconds: number): Promise<void> {
    const ttl = Math.floor(ttlSeconds);
    if (ttl <= 0) return;
    const value = JSON.stringify(answer);
    if (Buffer.byteLength(value, "utf8") > this.maxValueBytes) {
      this.tooLarge++;
      return;
    }
    await this.bounded(this.redis.set(this.redisKey(key), value, "EX", ttl));
  }

  /** Resolves with the command's result, or TIMED_OUT (counted) on error or after timeoutMs. */
  private bounded<T>(command: Promise<T>): Promise<T | typeof TIMED_OUT> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.timeoutMs);
    });
    // A command that fails after the timeout was already counted; its rejection must not go unhandled.
    const settled = command.then(
      (v): T | typeof TIMED_OUT => v,
      (): typeof TIMED_OUT => TIMED_OUT,
    );
    return Promise.race([settled, timeout]).then((result) => {
      clearTimeout(timer);
      if (result === TIMED_OUT) this.errors++;
      return result;
    });
  }
}
