import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { request } from "undici";
import { CONFIG_CHANGED_CHANNEL, usageEventSchema } from "@switchyard/contracts";
import { findQueuedUsageEvent } from "@switchyard/jobs";
import { expectedStreamBody, loadFixtures } from "@switchyard/mock-upstream";
import type { RunningProxy } from "./boot";
import { call, ENC_PROVIDER_KEY, MOCK_PROVIDER_KEY, setupHarness, usageEventFor, waitFor, type Harness } from "../test/harness";

let h: Harness;
let base: string;
let running: RunningProxy;
const fx = loadFixtures();
const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];

beforeAll(async () => {
  h = await setupHarness();
  const started = await h.startProxy();
  base = started.url;
  running = started.running;
});
afterAll(async () => h.close());
beforeEach(() => {
  h.mock.setFault(null);
  h.mock.setScenario(null);
});

const chat = (body: unknown, opts: { key?: string | null; headers?: Record<string, string> } = {}) =>
  call(`${base}/v1/chat/completions`, { key: opts.key === undefined ? h.keys.main : opts.key, headers: opts.headers, body });

const requestIdOf = (r: { headers: Record<string, string | string[] | undefined> }) => String(r.headers["x-request-id"]);

function expectOpenAiError(r: { status: number; json: () => unknown }, status: number, type: string) {
  expect(r.status).toBe(status);
  const body = r.json() as { error: { message: string; type: string; code: unknown; param: unknown } };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(body.error.type).toBe(type);
  expect(typeof body.error.message).toBe("string");
  return body.error;
}

describe("non-streaming chat completions", () => {
  it("returns the recorded completion byte for byte, with the gateway headers and exact cost", async () => {
    const r = await chat({ model: "gpt-4o-mini", messages }, { headers: { "x-switchyard-user": "user-7", "x-switchyard-tags": "env=prod, team=ranking" } });
    expect(r.status).toBe(200);
    expect(r.text).toBe(fx.chatText);
    expect(r.headers["x-switchyard-provider"]).toBe("openai-main");
    expect(r.headers["x-switchyard-model"]).toBe("gpt-4o-mini");
    expect(r.headers["x-switchyard-cache"]).toBe("miss");
    expect(requestIdOf(r)).toMatch(/^req_[0-9a-f]{32}$/);
    // Recorded usage 16 in / 363 out at $0.15 / $0.60 per MTok = 150 and 600 nano-USD per token.
    const expectedNano = 16 * 150 + 363 * 600;
    expect(r.headers["x-switchyard-cost-usd"]).toBe("0.000220200");
    expect(expectedNano).toBe(220_200);

    // What the provider saw: its own key and model name, never the virtual key.
    const seen = h.mock.requests.at(-1);
    expect(seen?.headers.authorization).toBe(`Bearer ${MOCK_PROVIDER_KEY}`);
    expect(JSON.stringify(seen?.headers)).not.toContain(h.keys.main);
    expect(seen?.body).toEqual({ model: "gpt-4o-mini-2024-07-18", messages });

    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(usageEventSchema.parse(ev)).toEqual(ev);
    expect(ev).toMatchObject({
      orgId: h.orgId,
      teamId: h.teamId,
      virtualKeyId: h.keys.mainId,
      endUser: "user-7",
      tags: { team: "ranking", costCenter: "42", env: "prod" },
      endpoint: "chat.completions",
      requestedModel: "gpt-4o-mini",
      servedModel: "gpt-4o-mini",
      provider: "openai-main",
      stream: false,
      status: 200,
      errorClass: null,
      usage: { inputTokens: 16, outputTokens: 363, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
      usageSource: "provider",
      costNanoUsd: String(expectedNano),
      cacheStatus: "miss",
      ttftMs: null,
      attempts: 1,
    });
    expect(ev.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("prices cached prompt tokens at the cached rate", async () => {
    h.mock.setScenario("cached-tokens");
    const r = await chat({ model: "gpt-4o-mini", messages });
    expect(r.text).toBe(fx.chatCachedTokens);
    // 1248 prompt of which 1152 cached ($0.075 = 75 nano/token), 10 out.
    const expectedNano = (1248 - 1152) * 150 + 1152 * 75 + 10 * 600;
    expect(r.headers["x-switchyard-cost-usd"]).toBe("0.000106800");
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev.usage).toMatchObject({ inputTokens: 1248, cachedInputTokens: 1152, outputTokens: 10 });
    expect(ev.costNanoUsd).toBe(String(expectedNano));
  });

  it("forwards a reply without usage untouched and estimates its usage from the text (servers that report none)", async () => {
    h.mock.setScenario("no-usage");
    const noUsage = await chat({ model: "gpt-4o-mini", messages });
    expect(noUsage.status).toBe(200);
    const body = JSON.parse(noUsage.text) as { usage?: unknown; choices: { message: { content: string } }[] };
    expect(body.usage).toBeUndefined();
    // Re-serialised by the mock, the recorded em dash goes out raw (UTF-8), as providers send it.
    expect(body.choices[0]?.message.content).toContain("—");
    expect(noUsage.headers["x-switchyard-cost-usd"]).toMatch(/^0\.\d{9}$/);
    const ev = await usageEventFor(h.queue, requestIdOf(noUsage));
    expect(ev.usageSource).toBe("estimated");
    // The prompt is a dozen tokens; the answer (363 tokens by the provider's own count when it reports it) is counted from the text.
    expect(ev.usage.inputTokens).toBeGreaterThan(5);
    expect(ev.usage.outputTokens).toBeGreaterThan(300);
    expect(ev.usage.outputTokens).toBeLessThan(420);
  });

  it("serves a route alias by its first target and records both names", async () => {
    const r = await chat({ model: "default-chat", messages }, { key: h.keys.restricted });
    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-model"]).toBe("gpt-4o-mini");
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev).toMatchObject({ requestedModel: "default-chat", servedModel: "gpt-4o-mini" });
  });

  it("records an unpriced model as unpriced (no cost header, null cost, metric), never $0", async () => {
    const r = await chat({ model: "mystery", messages });
    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-cost-usd"]).toBeUndefined();
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev.costNanoUsd).toBeNull();
    expect(ev.usageSource).toBe("provider");
    const metrics = await call(`${base}/metrics`);
    expect(metrics.text).toMatch(/switchyard_proxy_unpriced_requests_total\{model="mystery"\} [1-9]/);
  });

  it("decrypts an encrypted provider key and accepts x-api-key", async () => {
    const r = await call(`${base}/v1/chat/completions`, { headers: { "x-api-key": h.keys.main }, body: { model: "enc-model", messages } });
    expect(r.status).toBe(200);
    expect(h.mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${ENC_PROVIDER_KEY}`);
    expect(r.headers["x-switchyard-cost-usd"]).toBe("0.000742000"); // 16 × $1 + 363 × $2 per MTok
  });

  it("returns the recorded tool call when the request has tools", async () => {
    const turn = fx.toolCall[0];
    const r = await chat({ ...turn?.request, model: "gpt-4o-mini" });
    expect(r.text).toBe(turn?.responseBody);
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev.usage).toMatchObject({ inputTokens: 68, outputTokens: 12 });
  });
});

describe("streaming chat completions", () => {
  it("forwards the recorded stream, hides the usage chunk the client did not ask for, still prices it", async () => {
    const r = await chat({ model: "gpt-4o-mini", messages, stream: true });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toContain("text/event-stream");
    expect(r.text).toBe(expectedStreamBody(fx.chatTextStream, false));
    expect(r.headers["x-switchyard-cost-usd"]).toBeUndefined();
    expect(h.mock.requests.at(-1)?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev).toMatchObject({ stream: true, status: 200, usageSource: "provider", usage: { inputTokens: 1248, outputTokens: 10 } });
    expect(ev.costNanoUsd).toBe(String(1248 * 150 + 10 * 600));
    expect(ev.ttftMs).not.toBeNull();
    expect(ev.ttftMs).toBeLessThanOrEqual(ev.latencyMs);
  });

  it("passes the usage chunk through when the client asked for it", async () => {
    const r = await chat({ model: "gpt-4o-mini", messages, stream: true, stream_options: { include_usage: true } });
    expect(r.text).toBe(expectedStreamBody(fx.chatTextStream, true));
  });

  it("streams tool-call deltas", async () => {
    const turn = fx.toolCallStream[0];
    const r = await chat({ ...turn?.request, model: "gpt-4o-mini" });
    expect(r.text).toBe(turn?.responseBody);
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev.usage).toMatchObject({ inputTokens: 53, outputTokens: 15 });
  });

  it("delivers events as they arrive, not buffered", async () => {
    h.mock.setFault("slow-stream:150");
    const started = Date.now();
    const res = await request(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.keys.main}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages, stream: true }),
    });
    const iterator = res.body[Symbol.asyncIterator]();
    const first = await iterator.next();
    const firstAt = Date.now() - started;
    expect(String(first.value)).toContain("chat.completion.chunk");
    // 12 events × 150 ms ≈ 1.8 s in total; the first arrives while the provider is still sending.
    expect(firstAt).toBeLessThan(1000);
    expect(h.mock.requests.at(-1)?.completed).toBe(false);
    let rest = "";
    for (let n = await iterator.next(); !n.done; n = await iterator.next()) rest += String(n.value);
    expect(String(first.value) + rest).toBe(expectedStreamBody(fx.chatTextStream, false));
  });

  it("records a stream cut midway as a 502 event without [DONE]", async () => {
    h.mock.setFault("stream-cut");
    const res = await request(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.keys.main}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages, stream: true }),
    });
    const requestId = String(res.headers["x-request-id"]);
    const text = await res.body.text().catch(() => "");
    expect(text).not.toContain("[DONE]");
    const ev = await usageEventFor(h.queue, requestId);
    // The provider billed what it generated before the cut: estimated from what was streamed.
    expect(ev).toMatchObject({ status: 502, errorClass: "upstream_stream_interrupted", usageSource: "estimated" });
    expect(ev.usage.inputTokens).toBeGreaterThan(0);
    expect(ev.usage.outputTokens).toBeGreaterThan(0);
  });
});

describe("client disconnect", () => {
  it("aborts the upstream request and still records a 499 usage event with estimated usage", async () => {
    h.mock.setFault("slow-stream:300");
    const before = h.mock.requests.length;
    const controller = new AbortController();
    const res = await request(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.keys.main}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages, stream: true }),
      signal: controller.signal,
    });
    const requestId = String(res.headers["x-request-id"]);
    const iterator = res.body[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    const upstreamReq = await waitFor(() => h.mock.requests.slice(before).find((r) => r.path === "/v1/chat/completions") ?? null);
    await waitFor(() => upstreamReq.aborted, 3000, "the mock to see the socket close");
    expect(upstreamReq.completed).toBe(false);
    const ev = await usageEventFor(h.queue, requestId);
    // No usage chunk arrived, yet the provider bills what it read and generated: estimated, never $0.
    expect(ev).toMatchObject({ status: 499, errorClass: "client_disconnected", usageSource: "estimated", stream: true });
    expect(ev.usage.inputTokens).toBeGreaterThan(0);
    expect(BigInt(ev.costNanoUsd ?? "0")).toBeGreaterThan(0n);
  });
});

describe("bad input", () => {
  it("400 on malformed JSON, recorded", async () => {
    const r = await chat('{"model": "gpt-4o-mini", "messages": [');
    const err = expectOpenAiError(r, 400, "invalid_request_error");
    expect(err.code).toBe("invalid_json");
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev).toMatchObject({ status: 400, errorClass: "invalid_json", servedModel: null, costNanoUsd: "0" });
  });

  it("400 on a schema failure, naming the param", async () => {
    const r = await chat({ model: "gpt-4o-mini", messages: [] });
    expect(expectOpenAiError(r, 400, "invalid_request_error").param).toBe("messages");
    const r2 = await chat({ model: "gpt-4o-mini", messages: [{ role: "wizard", content: "x" }] });
    expect(expectOpenAiError(r2, 400, "invalid_request_error").param).toBe("messages[0].role");
  });

  it("400 on malformed x-switchyard-tags", async () => {
    const r = await chat({ model: "gpt-4o-mini", messages }, { headers: { "x-switchyard-tags": "env=prod,oops" } });
    expect(expectOpenAiError(r, 400, "invalid_request_error").param).toBe("x-switchyard-tags");
  });

  it("401 on missing, unknown, revoked and expired keys, with no usage event", async () => {
    for (const key of [null, "sk-sy-doesnotexist", "not-even-ours", h.keys.revoked, h.keys.expired]) {
      const r = await chat({ model: "gpt-4o-mini", messages }, { key });
      const err = expectOpenAiError(r, 401, "authentication_error");
      expect(err.code).toBe("invalid_api_key");
      if (key) expect(err.message).not.toContain(key);
    }
    const r = await chat({ model: "gpt-4o-mini", messages }, { key: h.keys.revoked });
    expect((r.json() as { error: { message: string } }).error.message).toMatch(/revoked/);
    await new Promise((res) => setTimeout(res, 100));
    expect(await findQueuedUsageEvent(h.queue, requestIdOf(r))).toBeUndefined();
  });

  it("403 for a model outside the key's allowed models", async () => {
    const r = await chat({ model: "gpt-4o-mini", messages }, { key: h.keys.restricted });
    expect(expectOpenAiError(r, 403, "permission_error").param).toBe("model");
  });

  it("404 for an unknown model", async () => {
    const r = await chat({ model: "gpt-9-ultra", messages });
    expect(expectOpenAiError(r, 404, "invalid_request_error").code).toBe("model_not_found");
  });

  it("413 for a body over PROXY_MAX_BODY_BYTES (declared or streamed)", async () => {
    const big = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(100_000) }] });
    const r = await chat(big);
    expectOpenAiError(r, 413, "invalid_request_error");
    // Chunked (no content-length): the limit is enforced while reading.
    const chunks = function* () {
      for (let i = 0; i < 10; i++) yield Buffer.from(big.slice(i * 10_000, (i + 1) * 10_000));
    };
    // The proxy answers 413 and closes the connection while the client may still be sending.
    const status = await request(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.keys.main}`, "content-type": "application/json" },
      body: Readable.from(chunks()),
    }).then(
      async (res) => {
        await res.body.text().catch(() => "");
        return res.statusCode;
      },
      () => 413, // the socket closed under the client: it was cut off, which is the point
    );
    expect(status).toBe(413);
  });

  it("404/405 for unknown routes and methods", async () => {
    expectOpenAiError(await call(`${base}/v1/nope`, { key: h.keys.main }), 404, "invalid_request_error");
    expectOpenAiError(await call(`${base}/v1/chat/completions`, { key: h.keys.main }), 405, "invalid_request_error");
  });
});

describe("upstream failures", () => {
  it("502 naming the provider on an upstream 500", async () => {
    h.mock.setFault("status:500");
    const r = await chat({ model: "gpt-4o-mini", messages });
    const err = expectOpenAiError(r, 502, "upstream_error");
    expect(err.message).toContain('"openai-main"');
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev).toMatchObject({ status: 502, errorClass: "upstream_server_error", provider: "openai-main", usageSource: "none" });
  });

  it("502 naming the provider when it cannot be reached", async () => {
    const r = await chat({ model: "dead-model", messages });
    expect(expectOpenAiError(r, 502, "upstream_error").message).toContain('"dead-provider"');
  });

  it("502 on a provider 401, without echoing the provider's message", async () => {
    h.mock.setFault("status:401");
    const r = await chat({ model: "gpt-4o-mini", messages });
    const err = expectOpenAiError(r, 502, "upstream_error");
    expect(err.message).toMatch(/credentials/);
    expect(err.message).not.toContain("Incorrect API key");
  });

  it("504 when the provider does not answer in time", async () => {
    h.mock.setFault("timeout");
    const r = await chat({ model: "gpt-4o-mini", messages });
    expect(expectOpenAiError(r, 504, "upstream_error").message).toContain('"openai-main"');
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev.errorClass).toBe("upstream_timeout");
  });

  it("passes an upstream 400 through with the provider's status, message, code and param", async () => {
    h.mock.setFault("status:400");
    const r = await chat({ model: "gpt-4o-mini", messages, max_tokens: 10 });
    const err = expectOpenAiError(r, 400, "invalid_request_error");
    const recorded = (JSON.parse(fx.chatError400) as { error: { message: string } }).error;
    expect(err).toMatchObject({ message: recorded.message, code: "unsupported_parameter", param: "max_tokens" });
  });

  it("passes a 429 through with retry-after", async () => {
    h.mock.setFault("status:429");
    const limited = await chat({ model: "gpt-4o-mini", messages });
    expectOpenAiError(limited, 429, "requests");
  });
});

describe("models, health, metrics", () => {
  it("lists the models and aliases a key may use", async () => {
    const all = (await call(`${base}/v1/models`, { key: h.keys.main })).json() as { object: string; data: { id: string; object: string; owned_by: string }[] };
    expect(all.object).toBe("list");
    expect(all.data.map((m) => m.id)).toEqual(["dead-model", "default-chat", "enc-model", "gpt-4o-mini", "mystery"]);
    expect(all.data.find((m) => m.id === "gpt-4o-mini")).toMatchObject({ object: "model", owned_by: "openai-main" });
    const some = (await call(`${base}/v1/models`, { key: h.keys.restricted })).json() as { data: { id: string }[] };
    expect(some.data.map((m) => m.id)).toEqual(["default-chat"]);
    expect((await call(`${base}/v1/models`, { key: null })).status).toBe(401);
  });

  it("healthz, readyz and metrics", async () => {
    expect((await call(`${base}/healthz`)).status).toBe(200);
    const ready = await call(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ checks: { snapshot: true, redis: true } });
    const m = await call(`${base}/metrics`);
    expect(m.headers["content-type"]).toContain("text/plain");
    expect(m.text).toMatch(/switchyard_proxy_requests_total\{endpoint="chat.completions",model="gpt-4o-mini",status="200"\} \d+/);
    expect(m.text).toMatch(/switchyard_proxy_upstream_latency_seconds_count\{provider="openai-main"\} \d+/);
    expect(m.text).toContain("switchyard_proxy_usage_spool_events 0");
  });
});

describe("snapshot reload", () => {
  it("a revocation published on the config channel takes effect within 1 s", async () => {
    const { key, id } = await (async () => {
      const { generateVirtualKey } = await import("@switchyard/db");
      const k = generateVirtualKey();
      const row = await h.prisma.virtualKey.create({ data: { orgId: h.orgId, teamId: h.teamId, name: "short-lived", keyHash: k.hash, prefix: k.prefix } });
      return { key: k.key, id: row.id };
    })();
    await h.redis.publish(CONFIG_CHANGED_CHANNEL, JSON.stringify({ kind: "virtual-key", id }));
    await waitFor(async () => (await chat({ model: "gpt-4o-mini", messages }, { key })).status === 200, 1000, "new key to work");

    await h.prisma.virtualKey.update({ where: { id }, data: { revokedAt: new Date() } });
    const publishedAt = Date.now();
    await h.redis.publish(CONFIG_CHANGED_CHANNEL, JSON.stringify({ kind: "virtual-key", id }));
    await waitFor(async () => (await chat({ model: "gpt-4o-mini", messages }, { key })).status === 401, 1000, "revocation");
    expect(Date.now() - publishedAt).toBeLessThan(1000);
  });

  it("a rotated key's old secret works as the same key until its grace ends, then gets a clear 401", async () => {
    const { generateVirtualKey } = await import("@switchyard/db");
    const oldSecret = generateVirtualKey();
    const row = await h.prisma.virtualKey.create({ data: { orgId: h.orgId, teamId: h.teamId, name: "rotating", keyHash: oldSecret.hash, prefix: oldSecret.prefix } });
    const newSecret = generateVirtualKey();
    const graceEnds = new Date(Date.now() + 1500);
    await h.prisma.virtualKey.update({
      where: { id: row.id },
      data: { keyHash: newSecret.hash, prefix: newSecret.prefix, previousKeyHash: oldSecret.hash, previousKeyExpiresAt: graceEnds, rotatedAt: new Date() },
    });
    expect(await running.snapshot.reload()).toBe(true);
    const viaOld = await chat({ model: "gpt-4o-mini", messages }, { key: oldSecret.key });
    const viaNew = await chat({ model: "gpt-4o-mini", messages }, { key: newSecret.key });
    expect(viaOld.status).toBe(200);
    expect(viaNew.status).toBe(200);
    // Both secrets are the same key: usage is attributed to one id.
    for (const r of [viaOld, viaNew]) expect((await usageEventFor(h.queue, requestIdOf(r))).virtualKeyId).toBe(row.id);
    await waitFor(() => Promise.resolve(Date.now() > graceEnds.getTime()), 3000, "grace to end");
    const after = await chat({ model: "gpt-4o-mini", messages }, { key: oldSecret.key });
    expect(after.status).toBe(401);
    expect(after.text).toContain("rotated");
    expect((await chat({ model: "gpt-4o-mini", messages }, { key: newSecret.key })).status).toBe(200);
  });

  it("a failed reload keeps the previous snapshot and the proxy keeps serving", async () => {
    const before = running.snapshot.current;
    expect(before).not.toBeNull();
    await h.prisma.$executeRawUnsafe('ALTER TABLE "routes" RENAME TO "routes_away"');
    try {
      expect(await running.snapshot.reload()).toBe(false);
      expect(running.snapshot.current).toBe(before);
      expect((await chat({ model: "default-chat", messages })).status).toBe(200);
    } finally {
      await h.prisma.$executeRawUnsafe('ALTER TABLE "routes_away" RENAME TO "routes"');
    }
    expect(await running.snapshot.reload()).toBe(true);
    expect(running.snapshot.current).not.toBe(before);
  });
});
