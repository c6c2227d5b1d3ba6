/**
 * Issue 5, proxy side, through a real proxy, the mock upstream, real Postgres and Redis:
 * the readable request log line, the savings ledger (cost on the requested model),
 * per-organisation price overrides, and body logging (off / redacted / full).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import { generateVirtualKey } from "@switchyard/db";
import type { RunningProxy } from "./boot";
import { costOf, newRequestContext, requestedCostOf } from "./context";
import { redactText } from "./redact";
import { pricingFor, requestedPricingFor, type BodyLogging, type RouteEntry } from "./snapshot";
import { call, setupHarness, usageEventFor, waitFor, type Harness } from "../test/harness";

let h: Harness;
let base: string;
let running: RunningProxy;
const logLines: string[] = [];
const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];

beforeAll(async () => {
  h = await setupHarness({ database: "switchyard_test_proxy_cost" });
  // The proxy's own pino line, captured at its destination.
  const logger = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });
  const started = await h.startProxy({ logger });
  base = started.url;
  running = started.running;
});
afterAll(async () => h.close());

const chat = (body: unknown, opts: { key?: string; headers?: Record<string, string> } = {}) =>
  call(`${base}/v1/chat/completions`, { key: opts.key ?? h.keys.main, headers: opts.headers, body });
const requestIdOf = (r: { headers: Record<string, string | string[] | undefined> }) => String(r.headers["x-request-id"]);

interface LogRecord {
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}
const logFor = (requestId: string) =>
  waitFor(() => logLines.map((l) => JSON.parse(l) as LogRecord).find((r) => r.requestId === requestId), 3000, `log line of ${requestId}`);

/** The SSE events a client received, and the text their content deltas add up to. */
function sseOf(text: string): { events: number; content: string } {
  const events = text.split("\n\n").filter((e) => e.trim() !== "");
  let content = "";
  for (const e of events) {
    const data = e.replace(/^data: ?/, "");
    if (data === "[DONE]") continue;
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[] };
    content += chunk.choices?.[0]?.delta?.content ?? "";
  }
  return { events: events.length, content };
}

async function reloadUntil(what: string, ready: () => boolean): Promise<void> {
  await h.redis.publish(CONFIG_CHANGED_CHANNEL, JSON.stringify({ kind: what, source: "dashboard" }));
  await waitFor(ready, 3000, `${what} reload`);
}

describe("readable request log line", () => {
  it("is the msg of the proxy's pino line for a real request, next to the structured fields", async () => {
    const r = await chat({ model: "gpt-4o-mini", messages }, { headers: { "x-switchyard-user": "user-9", "x-switchyard-tags": "feature=search" } });
    expect(r.status).toBe(200);
    const rec = await logFor(requestIdOf(r));
    // 16 × $0.15 + 363 × $0.60 per MTok = $0.0002202
    expect(rec.msg).toMatch(/^POST \/v1\/chat\/completions → gpt-4o-mini via openai-main \| 16 in \+ 363 out tokens \| \$0\.0002 \| cache miss \| [\d,]+ ms$/);
    expect(rec).toMatchObject({
      status: 200,
      costUsd: "0.000220200",
      requestedCostUsd: "0.000220200",
      cacheStatus: "miss",
      usageSource: "provider",
      endUser: "user-9",
      tags: { team: "search", costCenter: "42", feature: "search" },
    });
    expect(rec.msg).toContain(`${(rec.latencyMs as number).toLocaleString("en-US")} ms`);
    expect(JSON.stringify(rec)).not.toContain(h.keys.main);
  });

  it("names the requested alias, the TTFT and the chunks the client received for a stream", async () => {
    const r = await chat({ model: "default-chat", messages, stream: true });
    expect(r.status).toBe(200);
    const { events } = sseOf(r.text);
    expect(events).toBeGreaterThan(2);
    const rec = await logFor(requestIdOf(r));
    expect(rec.chunks).toBe(events);
    expect(rec.msg).toBe(
      `POST /v1/chat/completions → gpt-4o-mini via openai-main (asked default-chat) | 1,248 in + 10 out tokens | $0.0002 | cache miss | TTFT ${rec.ttftMs as number} ms | ${(rec.latencyMs as number).toLocaleString("en-US")} ms | stream ${events} chunks`,
    );
  });

  it("shows the status and error class of a failure", async () => {
    const r = await chat({ model: "dead-model", messages });
    expect(r.status).toBe(502);
    const rec = await logFor(requestIdOf(r));
    expect(rec.msg).toMatch(/^POST \/v1\/chat\/completions → dead-model via dead-provider \| 502 upstream_connection_error \| 0 in \+ 0 out tokens \| \$0\.0000 \| cache miss \| [\d,]+ ms$/);
  });
});

describe("savings ledger (cost on the requested model)", () => {
  it("equals the cost when the client named the served model or an alias whose first target served it", async () => {
    for (const model of ["gpt-4o-mini", "default-chat"]) {
      const r = await chat({ model, messages });
      const ev = await usageEventFor(h.queue, requestIdOf(r));
      expect(ev).toMatchObject({ requestedModel: model, servedModel: "gpt-4o-mini", costNanoUsd: "220200", requestedCostNanoUsd: "220200" });
    }
  });

  it("is null when the model asked for has no price, whatever the served one cost", async () => {
    await h.prisma.route.create({ data: { alias: "retired-first", strategy: "fallback", targets: [{ model: "retired-model" }, { model: "gpt-4o-mini" }] } });
    await reloadUntil("routes", () => running.snapshot.current?.routes.has("retired-first") === true);
    const r = await chat({ model: "retired-first", messages });
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev).toMatchObject({ servedModel: "gpt-4o-mini", costNanoUsd: "220200", requestedCostNanoUsd: null });
    // The unpriced model asked for directly: both unpriced.
    const m = await chat({ model: "mystery", messages });
    expect(await usageEventFor(h.queue, requestIdOf(m))).toMatchObject({ costNanoUsd: null, requestedCostNanoUsd: null });
  });

  it("prices the usage on the alias's first target when another target served it (failover)", () => {
    const snapshot = running.snapshot.current;
    const served = snapshot?.models.get("gpt-4o-mini");
    if (!snapshot || !served) throw new Error("snapshot not loaded");
    const route: RouteEntry = {
      alias: "smart",
      orgId: null,
      strategy: "fallback",
      targets: ["enc-model", "gpt-4o-mini"].map((model) => ({ model, weight: 1, when: null })),
      strict: false,
      options: {},
      createdAt: new Date(),
    };
    const ctx = newRequestContext("POST", "/v1/chat/completions");
    ctx.usage = { inputTokens: 16, outputTokens: 363, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
    ctx.pricing = pricingFor(snapshot, served, h.orgId);
    ctx.requestedPricing = requestedPricingFor(snapshot, { requested: "smart", model: served, route }, h.orgId);
    expect(costOf(ctx)).toBe(16n * 150n + 363n * 600n); // gpt-4o-mini: $0.15 / $0.60
    expect(requestedCostOf(ctx)).toBe(16n * 1000n + 363n * 2000n); // enc-model: $1 / $2
  });
});

describe("per-organisation price overrides", () => {
  it("costs org X's requests with X's override after a config-changed reload, other orgs with the list price", async () => {
    const other = await h.prisma.organization.create({ data: { slug: "globex", name: "Globex" } });
    const otherTeam = await h.prisma.team.create({ data: { orgId: other.id, slug: "ops", name: "Ops" } });
    const k = generateVirtualKey();
    await h.prisma.virtualKey.create({ data: { orgId: other.id, teamId: otherTeam.id, name: "globex", keyHash: k.hash, prefix: k.prefix } });
    await h.prisma.priceOverride.create({
      data: { orgId: h.orgId, upstreamModel: "gpt-4o-mini-2024-07-18", pricing: { inputPerMTok: "1", outputPerMTok: "2" } },
    });
    // What the dashboard's prices.setOverride publishes: any config-changed message reloads.
    await reloadUntil("prices", () => running.snapshot.current?.priceOverrides.get(h.orgId)?.has("gpt-4o-mini-2024-07-18") === true);

    const mine = await chat({ model: "gpt-4o-mini", messages });
    expect(mine.headers["x-switchyard-cost-usd"]).toBe("0.000742000"); // 16 × $1 + 363 × $2 per MTok
    expect(await usageEventFor(h.queue, requestIdOf(mine))).toMatchObject({ costNanoUsd: "742000", requestedCostNanoUsd: "742000" });
    const theirs = await chat({ model: "gpt-4o-mini", messages }, { key: k.key });
    expect(theirs.headers["x-switchyard-cost-usd"]).toBe("0.000220200");
    expect(await usageEventFor(h.queue, requestIdOf(theirs))).toMatchObject({ orgId: other.id, costNanoUsd: "220200" });

    // An override also prices a model that has no price at all.
    await h.prisma.priceOverride.create({ data: { orgId: h.orgId, upstreamModel: "mystery-model-1", pricing: { inputPerMTok: "10", outputPerMTok: "20" } } });
    await h.prisma.priceOverride.deleteMany({ where: { orgId: h.orgId, upstreamModel: "gpt-4o-mini-2024-07-18" } });
    await reloadUntil("prices", () => running.snapshot.current?.priceOverrides.get(h.orgId)?.has("mystery-model-1") === true);
    expect((await chat({ model: "gpt-4o-mini", messages })).headers["x-switchyard-cost-usd"]).toBe("0.000220200");
    expect((await chat({ model: "mystery", messages })).headers["x-switchyard-cost-usd"]).toBe("0.007420000");
    await h.prisma.priceOverride.deleteMany({});
    await reloadUntil("prices", () => running.snapshot.current?.priceOverrides.size === 0);
  });
});

describe("custom models of one organisation", () => {
  it("are callable and priced for that organisation's keys and do not exist for any other", async () => {
    const other = await h.prisma.organization.create({ data: { slug: "initech", name: "Initech" } });
    const otherTeam = await h.prisma.team.create({ data: { orgId: other.id, slug: "tps", name: "TPS" } });
    const k = generateVirtualKey();
    await h.prisma.virtualKey.create({ data: { orgId: other.id, teamId: otherTeam.id, name: "initech", keyHash: k.hash, prefix: k.prefix } });
    const listed = await h.prisma.model.findUniqueOrThrow({ where: { name: "gpt-4o-mini" } });
    await h.prisma.model.create({
      data: { orgId: h.orgId, name: "acme-mini", providerId: listed.providerId, upstreamModel: listed.upstreamModel, pricing: { inputPerMTok: "1", outputPerMTok: "2" } },
    });
    await reloadUntil("models", () => running.snapshot.current?.models.has("acme-mini") === true);

    const mine = await chat({ model: "acme-mini", messages });
    expect(mine.status).toBe(200);
    expect(mine.headers["x-switchyard-cost-usd"]).toBe("0.000742000"); // 16 × $1 + 363 × $2 per MTok
    const theirs = await chat({ model: "acme-mini", messages }, { key: k.key });
    expect(theirs.status).toBe(404);
    expect(theirs.text).toContain("model_not_found");
    const list = await call(`${base}/v1/models`, { key: k.key, method: "GET" });
    expect(list.text).not.toContain("acme-mini");
    const ownList = await call(`${base}/v1/models`, { key: h.keys.main, method: "GET" });
    expect(ownList.text).toContain("acme-mini");
    await h.prisma.model.delete({ where: { name: "acme-mini" } });
    await reloadUntil("models", () => running.snapshot.current?.models.has("acme-mini") === false);
  });
});

describe("body logging", () => {
  const secretBody = {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "Mail jane.doe@example.com, card 4111 1111 1111 1111, my key sk-proj-AbCdEf0123456789xyz." }],
  };

  async function setMode(mode: BodyLogging): Promise<void> {
    await h.prisma.team.update({ where: { id: h.teamId }, data: { bodyLogging: mode } });
    await reloadUntil("teams", () => running.snapshot.current?.teams.get(h.teamId)?.bodyLogging === mode);
  }

  it("off: no bodies on the event", async () => {
    await setMode("off");
    const r = await chat(secretBody);
    expect((await usageEventFor(h.queue, requestIdOf(r))).bodies).toBeNull();
  });

  it("full: the request as sent and the response as received, never a header", async () => {
    await setMode("full");
    const r = await chat(secretBody);
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev.bodies).toEqual({ request: JSON.stringify(secretBody), response: r.text, redacted: false, truncated: false });
    expect(JSON.stringify(ev)).not.toContain(h.keys.main);

    // A stream: the response is the assembled output, not the SSE.
    const s = await chat({ ...secretBody, stream: true });
    const sev = await usageEventFor(h.queue, requestIdOf(s));
    const { content } = sseOf(s.text);
    expect(content.length).toBeGreaterThan(0);
    expect(sev.bodies?.response).toBe(content);
  });

  it("redacted: emails, cards and keys masked in the request and the response", async () => {
    await setMode("redacted");
    const r = await chat(secretBody);
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev.bodies?.redacted).toBe(true);
    expect(ev.bodies?.request).toBe(
      JSON.stringify({ ...secretBody, messages: [{ role: "user", content: "Mail [REDACTED_EMAIL], card [REDACTED_CARD], my key [REDACTED_KEY]." }] }),
    );
    expect(ev.bodies?.response).toBe(redactText(r.text));
    expect(JSON.stringify(ev)).not.toMatch(/jane\.doe|4111 1111|sk-proj/);
  });

  it("caps each body at PROXY_BODY_LOG_MAX_BYTES and says so", async () => {
    await setMode("full");
    const small = await h.startProxy({ envOverrides: { PROXY_BODY_LOG_MAX_BYTES: "64" } });
    const r = await call(`${small.url}/v1/chat/completions`, { key: h.keys.main, body: secretBody });
    expect(r.status).toBe(200);
    const ev = await usageEventFor(h.queue, requestIdOf(r));
    expect(ev.bodies).toEqual({ request: JSON.stringify(secretBody).slice(0, 64), response: r.text.slice(0, 64), redacted: false, truncated: true });
    await setMode("off");
  });
});
