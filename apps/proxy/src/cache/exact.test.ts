/**
 * The exact cache against a real Redis (SWITCHYARD_TEST_REDIS_URL, default DB 1), keys
 * under a random prefix; and against a closed port for the Redis-down cases.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatCompletionRequest } from "@switchyard/contracts";
import { loadFixtures, splitSseEvents } from "@switchyard/mock-upstream/fixtures";
import { cacheDirective, ExactCache, type CachedAnswer } from "./exact";
import { cacheNamespace, exactCacheKey } from "./key";
import { completionFromOpenAiSse } from "./sse";

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
const prefix = `test:cache-exact:${randomBytes(4).toString("hex")}:`;
let redis: Redis;
let cache: ExactCache;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  cache = new ExactCache({ redis, prefix, timeoutMs: 1000 });
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const completion = completionFromOpenAiSse(splitSseEvents(loadFixtures().chatTextStream).map((e) => `${e}\n\n`));
if (!completion) throw new Error("fixture did not assemble");
const answer: CachedAnswer = {
  completion,
  usage: { inputTokens: 1248, outputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
  model: "gpt-4o",
  provider: "openai-main",
  storedAt: 1_764_547_200_000,
};
const body: ChatCompletionRequest = { model: "gpt-4o", messages: [{ role: "user", content: "Say hello." }], temperature: 0 };
let seq = 0;
const freshKey = (orgId = "org_acme") => exactCacheKey(cacheNamespace("org", { orgId, teamId: "t" }), "gpt-4o", { ...body, seed: ++seq });

/** A TCP port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("ExactCache on a real Redis", () => {
  it("misses, then returns what was stored, under prefix + cache:exact:", async () => {
    const key = freshKey();
    expect(await cache.get(key)).toBeNull();
    await cache.set(key, answer, 60);
    expect(await cache.get(key)).toEqual(answer);
    expect(await redis.exists(`${prefix}cache:exact:${key}`)).toBe(1);
    const ttl = await redis.ttl(`${prefix}cache:exact:${key}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it("keeps organisations apart: the same request from another org misses", async () => {
    const mine = exactCacheKey(cacheNamespace("org", { orgId: "org_a", teamId: "t" }), "gpt-4o", body);
    const theirs = exactCacheKey(cacheNamespace("org", { orgId: "org_b", teamId: "t" }), "gpt-4o", body);
    await cache.set(mine, answer, 60);
    expect(await cache.get(mine)).not.toBeNull();
    expect(await cache.get(theirs)).toBeNull();
  });

  it("forgets an answer when its TTL runs out", async () => {
    const key = freshKey();
    await cache.set(key, answer, 1);
    expect(await cache.get(key)).not.toBeNull();
    // Redis expires a 1 s key within the next second; poll rather than sleep a fixed time.
    const deadline = Date.now() + 5000;
    while ((await cache.get(key)) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await cache.get(key)).toBeNull();
  });

  it("does not store with a TTL of zero", async () => {
    const key = freshKey();
    await cache.set(key, answer, 0);
    expect(await redis.exists(cache.redisKey(key))).toBe(0);
  });

  it.each([
    ["not JSON", "{oops"],
    ["JSON of another shape", JSON.stringify({ completion: { id: 1 } })],
    ["an answer without choices", JSON.stringify({ ...answer, completion: { ...answer.completion, choices: [] } })],
  ])("treats a stored value that is %s as a miss and counts it", async (_name, value) => {
    const key = freshKey();
    await redis.set(cache.redisKey(key), value, "EX", 60);
    const before = cache.corrupt;
    expect(await cache.get(key)).toBeNull();
    expect(cache.corrupt).toBe(before + 1);
  });

  it("skips answers larger than the cap", async () => {
    const small = new ExactCache({ redis, prefix, timeoutMs: 1000, maxValueBytes: 512 });
    const key = freshKey();
    await small.set(key, answer, 60);
    expect(small.tooLarge).toBe(1);
    expect(await redis.exists(small.redisKey(key))).toBe(0);
  });
});

describe("ExactCache when Redis is unreachable", () => {
  it("misses and skips writes without throwing, within its timeout, and counts the failures", async () => {
    const port = await closedPort();
    // The connection the proxy should give it: no offline queue, so commands fail at once.
    const down = new Redis({ port, host: "127.0.0.1", lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on("error", () => undefined);
    const offline = new ExactCache({ redis: down, prefix, timeoutMs: 200 });
    const key = freshKey();
    await expect(offline.get(key)).resolves.toBeNull();
    await expect(offline.set(key, answer, 60)).resolves.toBeUndefined();
    expect(offline.errors).toBe(2);
    down.disconnect();
  });

  it("gives up after timeoutMs when a command is queued behind a reconnecting connection", async () => {
    const port = await closedPort();
    // ioredis' defaults: commands wait in the offline queue while it retries the connection.
    const stuck = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 50 });
    stuck.on("error", () => undefined);
    const offline = new ExactCache({ redis: stuck, prefix, timeoutMs: 100 });
    await expect(offline.get(freshKey())).resolves.toBeNull();
    expect(offline.errors).toBe(1);
    stuck.disconnect();
  });
});

describe("cacheDirective (x-switchyard-cache)", () => {
  it("reads and writes by default, refreshes on no-cache, stays out on no-store", () => {
    expect(cacheDirective(undefined)).toEqual({ read: true, write: true });
    expect(cacheDirective("no-cache")).toEqual({ read: false, write: true });
    expect(cacheDirective("No-Store")).toEqual({ read: false, write: false });
    expect(cacheDirective("no-cache, no-store")).toEqual({ read: false, write: false });
    expect(cacheDirective(["no-cache"])).toEqual({ read: false, write: true });
    expect(cacheDirective("max-age=5")).toEqual({ read: true, write: true });
  });
});
