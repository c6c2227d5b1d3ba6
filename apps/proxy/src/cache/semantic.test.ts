/**
 * The semantic index against a real Redis (SWITCHYARD_TEST_REDIS_URL, default DB 5):
 * every key this suite writes is under a prefix of its own, deleted afterwards.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Redis } from "ioredis";
import { routeSemanticCacheSchema, type ChatCompletionRequest } from "@switchyard/contracts";
import { decodeVector, encodeVector, semanticContextHash, semanticEligible, semanticNamespace, semanticText, SemanticIndex } from "./semantic";

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/5";
const PREFIX = `test:semantic:${randomUUID()}`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const cfg = routeSemanticCacheSchema.parse({ embeddingModel: "text-embedding-3-small" });
const user = (content: ChatCompletionRequest["messages"][number]["content"]) => ({ role: "user" as const, content });
const req = (extra: Record<string, unknown> = {}, messages: ChatCompletionRequest["messages"] = [user("What is the capital of France?")]): ChatCompletionRequest => ({
  model: "gpt-4o-mini",
  messages,
  temperature: 0,
  ...extra,
});

/** A unit vector at angle θ from e1 in the (e1, e2) plane: cosine with e1 is cos θ. */
function vecAt(cos: number, dims = 8): Float32Array {
  const v = new Float32Array(dims);
  v[0] = cos;
  v[1] = Math.sqrt(1 - cos * cos);
  return v;
}
const E1 = vecAt(1);

let nsSeq = 0;
const freshNamespace = () => `ns${++nsSeq}`;

describe("semanticEligible", () => {
  it("accepts a plain low-temperature text question", () => {
    expect(semanticEligible(req(), cfg)).toBe(true);
    expect(semanticEligible(req({}, [{ role: "system", content: "Be brief." }, user([{ type: "text", text: "Hi there" }])]), cfg)).toBe(true);
  });

  it("temperature: unset counts as 1, above maxTemperature refused, the route's maxTemperature honoured", () => {
    expect(semanticEligible(req({ temperature: undefined }), cfg)).toBe(false);
    expect(semanticEligible(req({ temperature: 0.3 }), cfg)).toBe(true);
    expect(semanticEligible(req({ temperature: 0.31 }), cfg)).toBe(false);
    expect(semanticEligible(req({ temperature: undefined }), { ...cfg, maxTemperature: 1 })).toBe(true);
  });

  it("refuses tools, functions, tool turns, n > 1, logprobs and audio", () => {
    expect(semanticEligible(req({ tools: [{ type: "function", function: { name: "f" } }] }), cfg)).toBe(false);
    expect(semanticEligible(req({ functions: [{ name: "f" }] }), cfg)).toBe(false);
    expect(semanticEligible(req({ tools: [] }), cfg)).toBe(true);
    expect(semanticEligible(req({ n: 2 }), cfg)).toBe(false);
    expect(semanticEligible(req({ n: 1 }), cfg)).toBe(true);
    expect(semanticEligible(req({ logprobs: true }), cfg)).toBe(false);
    expect(semanticEligible(req({ modalities: ["text", "audio"] }), cfg)).toBe(false);
    const toolTurns: ChatCompletionRequest["messages"] = [
      user("weather?"),
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "c1", content: "sunny" },
      user("and tomorrow?"),
    ];
    expect(semanticEligible(req({}, toolTurns), cfg)).toBe(false);
  });

  it("refuses images anywhere, a last message not from the user, and empty text", () => {
    const image = { type: "image_url", image_url: { url: "https://example.com/cat.png" } };
    expect(semanticEligible(req({}, [user([{ type: "text", text: "What is this?" }, image])]), cfg)).toBe(false);
    expect(semanticEligible(req({}, [user([image]), { role: "assistant", content: "A cat." }, user("Which breed?")]), cfg)).toBe(false);
    expect(semanticEligible(req({}, [user("Hi"), { role: "assistant", content: "Hello" }]), cfg)).toBe(false);
    expect(semanticEligible(req({}, [user("   ")]), cfg)).toBe(false);
    expect(semanticEligible(req({}, [user(null)]), cfg)).toBe(false);
  });
});

describe("semanticText and semanticContextHash", () => {
  it("embeds the last user message's text; text parts are joined", () => {
    expect(semanticText(req())).toBe("What is the capital of France?");
    expect(semanticText(req({}, [user([{ type: "text", text: "a" }, { type: "text", text: "b" }])]))).toBe("a\nb");
  });

  it("the context ignores the embedded text, temperature and delivery fields", () => {
    const base = semanticContextHash("gpt-4o-mini", req());
    expect(semanticContextHash("gpt-4o-mini", req({}, [user("Name France's capital city")]))).toBe(base);
    expect(semanticContextHash("gpt-4o-mini", req({ temperature: 0.2, stream: true, user: "u1", stream_options: { include_usage: true } }))).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  it("the context changes with the model, system prompt, earlier turns, response format and max tokens", () => {
    const base = semanticContextHash("gpt-4o-mini", req());
    const others = [
      semanticContextHash("claude-haiku", req()),
      semanticContextHash("gpt-4o-mini", req({}, [{ role: "system", content: "Answer in French." }, user("What is the capital of France?")])),
      semanticContextHash("gpt-4o-mini", req({}, [user("Hi"), { role: "assistant", content: "Hello!" }, user("What is the capital of France?")])),
      semanticContextHash("gpt-4o-mini", req({ response_format: { type: "json_object" } })),
      semanticContextHash("gpt-4o-mini", req({ max_tokens: 5 })),
      semanticContextHash("gpt-4o-mini", req({ seed: 7 })),
      semanticContextHash("gpt-4o-mini", req({}, [{ role: "user", content: "What is the capital of France?", name: "alice" }])),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  it("vectors round-trip through base64 float32", () => {
    const v = Float32Array.from([0.25, -1.5, 3.125e-3, 0]);
    expect(Array.from(decodeVector(encodeVector(v)))).toEqual(Array.from(v));
    expect(semanticNamespace("org:o1", "text-embedding-3-small")).toBe("org:o1:emb:text-embedding-3-small");
  });
});

describe("SemanticIndex on Redis", () => {
  const index = () => new SemanticIndex({ redis, prefix: PREFIX });

  it("finds an entry at or above the threshold, the most similar one first, and nothing below", async () => {
    const ix = index();
    const ns = freshNamespace();
    await ix.add(ns, "ctx", vecAt(0.9), "answer-0.9", 60);
    await ix.add(ns, "ctx", vecAt(0.97), "answer-0.97", 60);
    const best = await ix.lookup(ns, "ctx", E1, 0.95);
    expect(best?.answerKey).toBe("answer-0.97");
    expect(best?.similarity).toBeCloseTo(0.97, 5);
    expect(await ix.lookup(ns, "ctx", E1, 0.98)).toBeNull();
    expect((await ix.lookup(ns, "ctx", E1, 0.85))?.answerKey).toBe("answer-0.97");
    // Scale does not matter: similarity is cosine.
    expect((await ix.lookup(ns, "ctx", E1.map((x) => x * 7), 0.95))?.answerKey).toBe("answer-0.97");
  });

  it("namespaces are isolated", async () => {
    const ix = index();
    const [a, b] = [freshNamespace(), freshNamespace()];
    await ix.add(a, "ctx", E1, "org-a-answer", 60);
    expect((await ix.lookup(a, "ctx", E1, 0.95))?.answerKey).toBe("org-a-answer");
    expect(await ix.lookup(b, "ctx", E1, 0.5)).toBeNull();
  });

  it("contexts are isolated", async () => {
    const ix = index();
    const ns = freshNamespace();
    await ix.add(ns, "ctx-french", E1, "in-french", 60);
    expect(await ix.lookup(ns, "ctx-english", E1, 0.5)).toBeNull();
    expect((await ix.lookup(ns, "ctx-french", E1, 0.5))?.answerKey).toBe("in-french");
  });

  it("entries expire after their ttl (Redis clock of the add + ttl); the stream key gets a ttl", async () => {
    let offsetMs = 0;
    const ix = new SemanticIndex({ redis, prefix: PREFIX, now: () => Date.now() + offsetMs });
    const ns = freshNamespace();
    await ix.add(ns, "ctx", E1, "short", 2);
    await ix.add(ns, "ctx", vecAt(0.99), "long", 600);
    expect((await ix.lookup(ns, "ctx", E1, 0.95))?.answerKey).toBe("short");
    offsetMs = 3000;
    expect((await ix.lookup(ns, "ctx", E1, 0.95))?.answerKey).toBe("long");
    offsetMs = 601_000;
    expect(await ix.lookup(ns, "ctx", E1, 0.95)).toBeNull();
    // The longest entry's ttl, not the first one's.
    const pttl = await redis.pttl(`${PREFIX}:${ns}`);
    expect(pttl).toBeGreaterThan(590_000);
    expect(pttl).toBeLessThanOrEqual(600_000);
    // A replica that starts late does not load expired entries either.
    const late = new SemanticIndex({ redis, prefix: PREFIX, now: () => Date.now() + 3000 });
    expect((await late.lookup(ns, "ctx", E1, 0.95))?.answerKey).toBe("long");
  });

  it("another replica sees entries the first one added, including ones added after its first look", async () => {
    const first = index();
    const second = index();
    const ns = freshNamespace();
    expect(await second.lookup(ns, "ctx", E1, 0.9)).toBeNull();
    await first.add(ns, "ctx", E1, "from-first", 60);
    expect((await second.lookup(ns, "ctx", E1, 0.9))?.answerKey).toBe("from-first");
    await second.add(ns, "ctx", vecAt(0.5), "from-second", 60);
    expect((await first.lookup(ns, "ctx", vecAt(0.5), 0.99))?.answerKey).toBe("from-second");
    // Incremental sync reads each entry once: many lookups do not duplicate entries.
    for (let i = 0; i < 3; i++) await second.lookup(ns, "ctx", E1, 0.9);
    expect(await redis.xlen(`${PREFIX}:${ns}`)).toBe(2);
  });

  it("syncs in batches and keeps at most maxEntries per namespace, oldest dropped", async () => {
    const writer = new SemanticIndex({ redis, prefix: PREFIX, maxEntries: 1000 });
    const ns = freshNamespace();
    for (let i = 0; i < 7; i++) await writer.add(ns, "ctx", vecAt(0.5 + i * 0.05), `a${i}`, 60);
    const reader = new SemanticIndex({ redis, prefix: PREFIX, maxEntries: 3, batchSize: 2 });
    // a0…a3 dropped: the best remaining match for E1 is the newest (cos 0.8), the oldest kept is a4 (0.7).
    expect((await reader.lookup(ns, "ctx", E1, 0.1))?.answerKey).toBe("a6");
    expect((await reader.lookup(ns, "ctx", vecAt(0.5), 0.999))?.answerKey).toBeUndefined();
    expect((await reader.lookup(ns, "ctx", vecAt(0.7), 0.999))?.answerKey).toBe("a4");
  });

  it("vectors of another size never match", async () => {
    const ix = index();
    const ns = freshNamespace();
    await ix.add(ns, "ctx", vecAt(1, 16), "sixteen", 60);
    expect(await ix.lookup(ns, "ctx", E1, 0.1)).toBeNull();
  });

  it("concurrent lookups of a cold namespace load it once", async () => {
    const writer = index();
    const ns = freshNamespace();
    await writer.add(ns, "ctx", E1, "one", 60);
    const reader = index();
    const xrange = vi.spyOn(redis, "xrange");
    try {
      const results = await Promise.all([1, 2, 3, 4].map(() => reader.lookup(ns, "ctx", E1, 0.9)));
      expect(results.map((r) => r?.answerKey)).toEqual(["one", "one", "one", "one"]);
      expect(xrange).toHaveBeenCalledTimes(1);
    } finally {
      xrange.mockRestore();
    }
  });
});

describe("SemanticIndex when Redis fails", () => {
  it("Redis down: lookup is a miss and add does not throw", async () => {
    const down = new Redis("redis://127.0.0.1:1/0", { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    down.on("error", () => undefined);
    try {
      const ix = new SemanticIndex({ redis: down, prefix: PREFIX, timeoutMs: 500 });
      await expect(ix.add("ns", "ctx", E1, "k", 60)).resolves.toBeUndefined();
      await expect(ix.lookup("ns", "ctx", E1, 0.5)).resolves.toBeNull();
    } finally {
      down.disconnect();
    }
  });

  it("Redis that never answers: a miss after timeoutMs, not a hung request", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const hung = new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 0 });
    hung.on("error", () => undefined);
    try {
      const ix = new SemanticIndex({ redis: hung, prefix: PREFIX, timeoutMs: 100 });
      await expect(ix.lookup("ns", "ctx", E1, 0.5)).resolves.toBeNull();
      await expect(ix.add("ns", "ctx", E1, "k", 60)).resolves.toBeUndefined();
    } finally {
      hung.disconnect();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it("without Redis (null) the index works inside this process", async () => {
    const ix = new SemanticIndex({ redis: null, prefix: PREFIX });
    await ix.add("ns", "ctx", E1, "local", 60);
    expect((await ix.lookup("ns", "ctx", vecAt(0.97), 0.95))?.answerKey).toBe("local");
    expect(await ix.lookup("ns", "other", E1, 0.5)).toBeNull();
  });
});
