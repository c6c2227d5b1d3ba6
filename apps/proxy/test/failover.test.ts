/**
 * Retries and failover against injected upstream faults: for each fault, what the client
 * sees, how many attempts each upstream got, and that the usage event still records
 * every attempt and the exact cost of the model that served the answer.
 * Real Postgres (own database) and Redis; the upstreams are mocks in this process.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { UsageEvent } from "@switchyard/contracts";
import { expectedStreamBody, loadFixtures, type MockUpstream, type RecordedRequest } from "@switchyard/mock-upstream";
import { call, usageEventFor, type Reply } from "./harness";
import {
  DEADLINE_ROUTE_MS,
  exactCost,
  MODELS,
  PROVIDER_SECRETS,
  recordedUsage,
  setupFailoverWorld,
  costsOf,
  type FailoverWorld,
  type ModelName,
} from "./failover-world";

const HEADERS_TIMEOUT_MS = 500;
const FIRST_BYTE_TIMEOUT_MS = 300;

let w: FailoverWorld;
const fx = loadFixtures();
const usage = recordedUsage();
const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];
const STREAM_BODY = expectedStreamBody(fx.chatTextStream, false);

beforeAll(async () => {
  w = await setupFailoverWorld({
    database: "switchyard_test_failover",
    env: {
      SWITCHYARD_LIMITS_PREFIX: `test:failover:${process.pid}:`,
      PROXY_UPSTREAM_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      PROXY_STREAM_FIRST_BYTE_TIMEOUT_MS: String(FIRST_BYTE_TIMEOUT_MS),
      PROXY_RETRY_BASE_BACKOFF_MS: "20",
      PROXY_RETRY_MAX_BACKOFF_MS: "2000",
      PROXY_HEALTH_SYNC_MS: "100",
      // This suite is about one request's retries: circuits must not open between tests
      // (failover-load.test.ts covers them).
      PROXY_HEALTH_MIN_REQUESTS: "1000000",
    },
  });
});
afterAll(async () => w?.close());
beforeEach(() => w.resetFaults());

const chat = (model: string, extra: Record<string, unknown> = {}) => call(`${w.base}/v1/chat/completions`, { key: w.h.keys.main, body: { model, messages, ...extra } });
const requestIdOf = (r: Reply) => String(r.headers["x-request-id"]);
const eventOf = (r: Reply) => usageEventFor(w.h.queue, requestIdOf(r));

/** Chat requests each upstream receives from now on. */
function watch(): () => { primary: RecordedRequest[]; backup: RecordedRequest[]; claude: RecordedRequest[]; keyed: RecordedRequest[]; ctx: string[] } {
  const mocks = { primary: w.primary, backup: w.backup, claude: w.claude, keyed: w.keyed };
  const start = Object.fromEntries(Object.entries(mocks).map(([k, m]) => [k, m.requests.length])) as Record<keyof typeof mocks, number>;
  const ctxStart = w.ctx.models.length;
  const since = (m: MockUpstream, n: number) => m.requests.slice(n);
  return () => ({
    primary: since(w.primary, start.primary),
    backup: since(w.backup, start.backup),
    claude: since(w.claude, start.claude),
    keyed: since(w.keyed, start.keyed),
    ctx: w.ctx.models.slice(ctxStart),
  });
}

const upstreamModelOf = (r: RecordedRequest) => (r.body as { model?: string }).model;

function openAiError(r: Reply, status: number) {
  expect(r.status).toBe(status);
  return (r.json() as { error: { message: string; type: string; code: string | null; param: string | null } }).error;
}

/** The event's exact cost on the served model, and its requested cost on the route's first target, for the same usage. */
function expectExactCosts(ev: UsageEvent, served: ModelName, firstTarget: ModelName) {
  const { cost, requested } = costsOf(ev);
  expect(ev.servedModel).toBe(served);
  expect(ev.provider).toBe(MODELS[served].provider);
  expect(cost).toBe(exactCost(served, ev.usage));
  expect(requested).toBe(exactCost(firstTarget, ev.usage));
}

/** The answer came from backup-model, the recorded JSON reply, with the backup's price on it. */
function expectBackupJsonAnswer(r: Reply) {
  expect(r.status).toBe(200);
  expect(r.text).toBe(fx.chatText);
  expect(r.headers["x-switchyard-model"]).toBe("backup-model");
  expect(r.headers["x-switchyard-provider"]).toBe("backup-ai");
}

describe("rate limits upstream (429)", () => {
  it("waits out retry-after and retries the same target once it is free", async () => {
    w.primary.queueFaults(["status:429:retry-after=1"]);
    const seen = watch();
    const started = performance.now();
    const r = await chat("chat");
    const elapsed = performance.now() - started;

    expect(r.status).toBe(200);
    expect(r.text).toBe(fx.chatText);
    expect(r.headers["x-switchyard-model"]).toBe("primary-model");
    expect(seen().primary).toHaveLength(2);
    expect(seen().backup).toHaveLength(0);
    expect(elapsed).toBeGreaterThanOrEqual(1000);

    const ev = await eventOf(r);
    expect(ev.status).toBe(200);
    expect(ev.errorClass).toBeNull();
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog).toHaveLength(2);
    expect(ev.attemptLog[0]).toMatchObject({ model: "primary-model", provider: "primary-ai", providerKey: "default", status: 429, errorClass: "upstream_rate_limited", waitMs: 0 });
    expect(ev.attemptLog[1]).toMatchObject({ model: "primary-model", status: 200, errorClass: null });
    expect(ev.attemptLog[1]!.waitMs).toBeGreaterThanOrEqual(1000);
    expect(ev.usage).toMatchObject(usage.json);
    expect(ev.usageSource).toBe("provider");
    expectExactCosts(ev, "primary-model", "primary-model");
    expect(r.headers["x-switchyard-cost-usd"]).toBe("0.000220200");
  });

  it("a 429 storm with a retry-after beyond the backoff bound goes to the fallback at once", async () => {
    w.primary.setFault("status:429:retry-after=60");
    const seen = watch();
    const r = await chat("chat");

    expectBackupJsonAnswer(r);
    expect(seen().primary).toHaveLength(1);
    expect(seen().backup).toHaveLength(1);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass, a.waitMs])).toEqual([
      ["primary-model", 429, "upstream_rate_limited", 0],
      ["backup-model", 200, null, 0],
    ]);
    expect(ev.usage).toMatchObject(usage.json);
    expectExactCosts(ev, "backup-model", "primary-model");
  });

  it("a 429 storm without retry-after: two backed-off retries of the primary, then the fallback", async () => {
    w.primary.setFault("status:429:retry-after=none");
    const seen = watch();
    const r = await chat("chat");

    expectBackupJsonAnswer(r);
    expect(seen().primary).toHaveLength(3);
    expect(seen().backup).toHaveLength(1);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(4);
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass])).toEqual([
      ["primary-model", 429, "upstream_rate_limited"],
      ["primary-model", 429, "upstream_rate_limited"],
      ["primary-model", 429, "upstream_rate_limited"],
      ["backup-model", 200, null],
    ]);
    // Full jitter over base × 2 (40 ms), doubled per retry; the fallback goes out at once.
    expect(ev.attemptLog[1]!.waitMs).toBeLessThanOrEqual(40);
    expect(ev.attemptLog[2]!.waitMs).toBeLessThanOrEqual(80);
    expect(ev.attemptLog[3]!.waitMs).toBe(0);
    expectExactCosts(ev, "backup-model", "primary-model");
  });

  it("a 429 on one provider key moves to the provider's other key at once, and that key stays out of rotation", async () => {
    w.keyed.queueFaults(["status:429:retry-after=1"]);
    const seen = watch();
    const r = await chat("keyed");

    expect(r.status).toBe(200);
    expect(r.text).toBe(fx.chatText);
    expect(r.headers["x-switchyard-model"]).toBe("keyed-model");
    const sent = seen().keyed;
    expect(sent).toHaveLength(2);
    expect(seen().backup).toHaveLength(0);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(2);
    const [limited, served] = ev.attemptLog;
    expect(limited).toMatchObject({ model: "keyed-model", status: 429, errorClass: "upstream_rate_limited", waitMs: 0 });
    expect(served).toMatchObject({ model: "keyed-model", status: 200, errorClass: null, waitMs: 0 });
    expect(new Set([limited!.providerKey, served!.providerKey])).toEqual(new Set(["key-a", "key-b"]));
    // The labels name the keys the upstream really saw.
    const secretOf = (label: string | null) => (label === "key-a" ? PROVIDER_SECRETS.KEYED_A : PROVIDER_SECRETS.KEYED_B);
    expect(sent.map((s) => s.headers.authorization)).toEqual([`Bearer ${secretOf(limited!.providerKey)}`, `Bearer ${secretOf(served!.providerKey)}`]);
    expect(ev.usage).toMatchObject(usage.json);
    expectExactCosts(ev, "keyed-model", "keyed-model");

    // Within its retry-after, the limited key is skipped by the round robin.
    const next = await chat("keyed");
    expect(next.status).toBe(200);
    const nextEv = await eventOf(next);
    expect(nextEv.attemptLog.map((a) => [a.providerKey, a.status])).toEqual([[served!.providerKey, 200]]);
  });
});

describe("server errors and overload", () => {
  it("500 → the fallback at once; the client sees the fallback's normal answer", async () => {
    w.primary.queueFaults(["status:500"]);
    const seen = watch();
    const r = await chat("chat");

    expectBackupJsonAnswer(r);
    expect(seen().primary).toHaveLength(1);
    expect(seen().backup).toHaveLength(1);
    expect(upstreamModelOf(seen().backup[0]!)).toBe("backup-up");
    const ev = await eventOf(r);
    expect(ev.status).toBe(200);
    expect(ev.errorClass).toBeNull();
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog.map((a) => [a.model, a.provider, a.status, a.errorClass, a.waitMs])).toEqual([
      ["primary-model", "primary-ai", 500, "upstream_server_error", 0],
      ["backup-model", "backup-ai", 200, null, 0],
    ]);
    expect(ev.usage).toMatchObject(usage.json);
    expect(ev.usageSource).toBe("provider");
    expectExactCosts(ev, "backup-model", "primary-model");
    // 16 in × 400 + 363 out × 1600 nano-USD.
    expect(r.headers["x-switchyard-cost-usd"]).toBe("0.000587200");
  });

  it("503 → the fallback", async () => {
    w.primary.queueFaults(["status:503"]);
    const seen = watch();
    const r = await chat("chat");

    expectBackupJsonAnswer(r);
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 1]);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog[0]).toMatchObject({ model: "primary-model", status: 503, errorClass: "upstream_overloaded" });
    expect(ev.attemptLog[1]).toMatchObject({ model: "backup-model", status: 200, errorClass: null, waitMs: 0 });
    expect(ev.usage).toMatchObject(usage.json);
    expectExactCosts(ev, "backup-model", "primary-model");
  });

  it("Anthropic 529 overloaded → the fallback at once", async () => {
    w.claude.setFault("status:529");
    const seen = watch();
    const r = await chat("claude-first");

    expectBackupJsonAnswer(r);
    expect(seen().claude).toHaveLength(1);
    expect(seen().claude[0]!.path).toBe("/v1/messages");
    expect(seen().backup).toHaveLength(1);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog.map((a) => [a.model, a.provider, a.status, a.errorClass, a.waitMs])).toEqual([
      ["claude-model", "claude-ai", 529, "upstream_overloaded", 0],
      ["backup-model", "backup-ai", 200, null, 0],
    ]);
    expect(ev.usage).toMatchObject(usage.json);
    expectExactCosts(ev, "backup-model", "claude-model");
  });

  it("a single target's 500 is retried once, then the client gets the 502", async () => {
    w.primary.setFault("status:500");
    const seen = watch();
    const r = await chat("solo");

    const err = openAiError(r, 502);
    expect(err.message).toContain('"primary-ai"');
    expect(seen().primary).toHaveLength(2);
    const ev = await eventOf(r);
    expect(ev).toMatchObject({ status: 502, errorClass: "upstream_server_error", attempts: 2, usageSource: "none", costNanoUsd: "0" });
    expect(ev.attemptLog.map((a) => [a.status, a.errorClass])).toEqual([
      [500, "upstream_server_error"],
      [500, "upstream_server_error"],
    ]);
  });
});

describe("timeouts and broken connections", () => {
  it("no answer within the headers timeout → the fallback", async () => {
    w.primary.setFault("timeout");
    const seen = watch();
    const started = performance.now();
    const r = await chat("chat");
    const elapsed = performance.now() - started;

    expectBackupJsonAnswer(r);
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 1]);
    // The proxy gave up on the silent primary (its socket closed), no later than a few timeouts.
    expect(seen().primary[0]!.aborted).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(HEADERS_TIMEOUT_MS * 6);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog[0]).toMatchObject({ model: "primary-model", status: 0, errorClass: "upstream_timeout", waitMs: 0 });
    expect(ev.attemptLog[0]!.durationMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(ev.attemptLog[1]).toMatchObject({ model: "backup-model", status: 200, errorClass: null });
    expect(ev.usage).toMatchObject(usage.json);
    expectExactCosts(ev, "backup-model", "primary-model");
  });

  it("a connection reset before the first byte (JSON) → the fallback, the client sees a normal answer", async () => {
    w.primary.queueFaults(["reset"]);
    const seen = watch();
    const r = await chat("chat");

    expectBackupJsonAnswer(r);
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 1]);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass])).toEqual([
      ["primary-model", 0, "upstream_connection_error"],
      ["backup-model", 200, null],
    ]);
    expect(ev.usage).toMatchObject(usage.json);
    expectExactCosts(ev, "backup-model", "primary-model");
  });

  it("a connection reset before the first byte (stream) → the fallback's stream, unbroken", async () => {
    w.primary.queueFaults(["reset"]);
    const seen = watch();
    const r = await chat("chat", { stream: true });

    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-model"]).toBe("backup-model");
    expect(r.text).toBe(STREAM_BODY);
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 1]);
    const ev = await eventOf(r);
    expect(ev.stream).toBe(true);
    expect(ev.status).toBe(200);
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass])).toEqual([
      ["primary-model", 0, "upstream_connection_error"],
      ["backup-model", 200, null],
    ]);
    expect(ev.usageSource).toBe("provider");
    expect(ev.usage).toMatchObject(usage.stream);
    expectExactCosts(ev, "backup-model", "primary-model");
  });

  it("a first token slower than the first-byte timeout (stream) → the fallback, invisibly", async () => {
    w.primary.queueFaults([`slow-first-token:${FIRST_BYTE_TIMEOUT_MS * 5}`]);
    const seen = watch();
    const r = await chat("chat", { stream: true });

    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-model"]).toBe("backup-model");
    expect(r.text).toBe(STREAM_BODY);
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 1]);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(2);
    // The primary's headers came at once (200); it was its first byte that never did.
    expect(ev.attemptLog[0]).toMatchObject({ model: "primary-model", errorClass: "upstream_timeout" });
    expect(ev.attemptLog[0]!.durationMs).toBeGreaterThanOrEqual(FIRST_BYTE_TIMEOUT_MS - 50);
    expect(ev.attemptLog[1]).toMatchObject({ model: "backup-model", status: 200, errorClass: null, waitMs: 0 });
    expect(ev.usage).toMatchObject(usage.stream);
    expectExactCosts(ev, "backup-model", "primary-model");
  });

  it("a stream cut after its first byte: partial content then the error event, one attempt, estimated usage", async () => {
    w.primary.queueFaults(["stream-cut"]);
    const seen = watch();
    const r = await chat("chat", { stream: true });

    // Committed: the status line went out with the first byte, so it is 200 and the end says what happened.
    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-model"]).toBe("primary-model");
    expect(r.text).not.toContain("[DONE]");
    const events = r.text.split("\n\n").filter((e) => e !== "");
    const last = events.at(-1)!;
    expect(last.startsWith("data: ")).toBe(true);
    const error = (JSON.parse(last.slice("data: ".length)) as { error: { code: string; message: string; type: string } }).error;
    expect(error.code).toBe("upstream_stream_interrupted");
    expect(error.message).toContain('"primary-ai"');
    // What came before the error event is a clean prefix of the recorded stream, with content in it.
    const partial = r.text.slice(0, r.text.length - `${last}\n\n`.length);
    expect(partial.length).toBeGreaterThan(0);
    expect(STREAM_BODY.startsWith(partial)).toBe(true);
    expect(partial).toContain('"content"');
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 0]);

    const ev = await eventOf(r);
    expect(ev).toMatchObject({ status: 502, errorClass: "upstream_stream_interrupted", usageSource: "estimated", attempts: 1, servedModel: "primary-model" });
    expect(ev.attemptLog).toHaveLength(1);
    // The one attempt got its 200 and first byte (what broke later is the request's errorClass).
    expect(ev.attemptLog[0]).toMatchObject({ model: "primary-model", status: 200 });
    expect(ev.usage.inputTokens).toBeGreaterThan(0);
    expect(ev.usage.outputTokens).toBeGreaterThan(0);
    // The estimate is priced like provider usage, on the model that streamed.
    expectExactCosts(ev, "primary-model", "primary-model");
    expect(BigInt(ev.costNanoUsd!)).toBeGreaterThan(0n);
  });

  it("a stream cut on /v1/messages ends with Anthropic's `event: error`, no retry", async () => {
    w.primary.queueFaults(["stream-cut"]);
    const seen = watch();
    const r = await call(`${w.base}/v1/messages`, {
      headers: { "x-api-key": w.h.keys.main, "anthropic-version": "2023-06-01" },
      body: { model: "chat", max_tokens: 400, stream: true, messages: [{ role: "user", content: "Hello" }] },
    });

    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-model"]).toBe("primary-model");
    expect(r.text).toContain("event: message_start");
    expect(r.text).toContain("event: content_block_delta");
    expect(r.text).not.toContain("event: message_stop");
    const last = r.text.split("\n\n").filter((e) => e !== "").at(-1)!;
    expect(last.split("\n")[0]).toBe("event: error");
    const body = JSON.parse(last.split("\n")[1]!.slice("data: ".length)) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe("error");
    expect(body.error.message).toContain('"primary-ai"');
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 0]);
    const ev = await eventOf(r);
    expect(ev).toMatchObject({ endpoint: "messages", status: 502, errorClass: "upstream_stream_interrupted", usageSource: "estimated", attempts: 1 });
    expectExactCosts(ev, "primary-model", "primary-model");
  });

  it("every target silent past the route's deadline → 504 naming the deadline", async () => {
    w.primary.setFault("timeout");
    w.backup.setFault("timeout");
    const seen = watch();
    const started = performance.now();
    const r = await chat("hurry");
    const elapsed = performance.now() - started;

    const err = openAiError(r, 504);
    expect(err.message).toContain("deadline");
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_ROUTE_MS - 50);
    // undici checks headers timeouts on a 500 ms tick, so an attempt may overrun its share by up to a tick or two.
    expect(elapsed).toBeLessThan(DEADLINE_ROUTE_MS + 1500);
    // The primary first; the backup only if the primary's timeout left some of the 800 ms; nothing after the deadline.
    const sent = seen();
    expect(sent.primary).toHaveLength(1);
    expect(sent.backup.length).toBeLessThanOrEqual(1);
    // The message names the provider of the last attempt.
    expect(err.message).toContain(sent.backup.length === 1 ? '"backup-ai"' : '"primary-ai"');
    const ev = await eventOf(r);
    expect(ev).toMatchObject({ status: 504, errorClass: "upstream_timeout", usageSource: "none", costNanoUsd: "0" });
    expect(ev.attempts).toBe(1 + sent.backup.length);
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass])).toEqual(
      [["primary-model", 0, "upstream_timeout"], ["backup-model", 0, "upstream_timeout"]].slice(0, ev.attempts),
    );
  });
});

describe("errors a retry cannot fix", () => {
  it("400 → no retry: one attempt, the provider's 400 to the client", async () => {
    w.primary.setFault("status:400");
    const seen = watch();
    const r = await chat("chat", { max_tokens: 10 });

    const err = openAiError(r, 400);
    const recorded = (JSON.parse(fx.chatError400) as { error: { message: string } }).error;
    expect(err).toMatchObject({ message: recorded.message, code: "unsupported_parameter", param: "max_tokens" });
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 0]);
    const ev = await eventOf(r);
    expect(ev).toMatchObject({ status: 400, attempts: 1, usageSource: "none", costNanoUsd: "0", requestedCostNanoUsd: "0" });
    expect(ev.attemptLog.map((a) => [a.model, a.status])).toEqual([["primary-model", 400]]);
  });

  it("401 from the provider → no retry, 502 about the gateway's credentials", async () => {
    w.primary.setFault("status:401");
    const seen = watch();
    const r = await chat("chat");

    const err = openAiError(r, 502);
    expect(err.message).toMatch(/credentials/);
    expect(err.message).not.toContain("Incorrect API key");
    expect([seen().primary.length, seen().backup.length]).toEqual([1, 0]);
    const ev = await eventOf(r);
    expect(ev).toMatchObject({ status: 502, errorClass: "upstream_auth", attempts: 1, costNanoUsd: "0" });
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass])).toEqual([["primary-model", 401, "upstream_auth"]]);
  });
});

describe("context length exceeded", () => {
  it("OpenAI context_length_exceeded → the next target with a larger context window, skipping one no larger", async () => {
    const seen = watch();
    const r = await chat("long-context");

    expect(r.status).toBe(200);
    expect(r.text).toBe(fx.chatText);
    expect(r.headers["x-switchyard-model"]).toBe("ctx-big");
    expect(seen().ctx).toEqual(["ctx-small-up"]);
    // ctx-same (8 192 tokens, on primary-ai) cannot fit more than ctx-small did: never asked.
    expect(seen().primary).toHaveLength(0);
    expect(seen().backup.map(upstreamModelOf)).toEqual(["ctx-big-up"]);
    const ev = await eventOf(r);
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass, a.waitMs])).toEqual([
      ["ctx-small", 400, "upstream_context_length_exceeded", 0],
      ["ctx-big", 200, null, 0],
    ]);
    expect(ev.usage).toMatchObject(usage.json);
    expectExactCosts(ev, "ctx-big", "ctx-small");
  });

  it("Anthropic's 'prompt is too long' → the larger target", async () => {
    w.claude.setScenario("prompt-too-long");
    const seen = watch();
    const r = await chat("long-context-claude");

    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-model"]).toBe("ctx-big");
    expect(seen().claude).toHaveLength(1);
    expect(seen().primary).toHaveLength(0);
    expect(seen().backup.map(upstreamModelOf)).toEqual(["ctx-big-up"]);
    const ev = await eventOf(r);
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass])).toEqual([
      ["claude-model", 400, "upstream_context_length_exceeded"],
      ["ctx-big", 200, null],
    ]);
    expectExactCosts(ev, "ctx-big", "claude-model");
  });
});
