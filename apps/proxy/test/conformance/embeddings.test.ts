/**
 * POST /v1/embeddings and GET /v1/models through the official OpenAI SDK.
 * OpenAI is played by the mock upstream; Gemini (which reports no usage, so the proxy
 * estimates it) by a small batchEmbedContents server in this file.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import { countEmbeddingInputTokens } from "@switchyard/tokenizer";
import { setupConformance, UPSTREAM_KEY, type Conformance } from "./harness";

const REDIS_DB = 14;
let c: Conformance;
let gemini: Server;
let geminiUrl: string;
const geminiRequests: { url: string; headers: Record<string, unknown>; body: { requests: { model: string; content: { parts: { text: string }[] }; outputDimensionality?: number }[] } }[] = [];

/** Gemini batchEmbedContents: `{embeddings: [{values}]}` in input order, no usage. */
function startFakeGemini(): Promise<string> {
  gemini = createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString()));
    req.on("end", () => {
      const body = JSON.parse(raw) as (typeof geminiRequests)[number]["body"];
      geminiRequests.push({ url: req.url ?? "", headers: req.headers, body });
      if (req.headers["x-goog-api-key"] !== UPSTREAM_KEY) {
        res.writeHead(403, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: 403, message: "Method doesn't allow unregistered callers.", status: "PERMISSION_DENIED" } }));
        return;
      }
      const embeddings = body.requests.map((r, i) => ({ values: [i + 0.5, -0.25, r.content.parts[0]!.text.length] }));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ embeddings }));
    });
  });
  return new Promise((resolve) => gemini.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(gemini.address() as AddressInfo).port}/v1beta`)));
}

/** Writes config rows, tells the proxy, and waits until it lists `expectId`. */
async function reloadUntilListed(expectId: string): Promise<void> {
  const pub = new Redis(`redis://127.0.0.1:6379/${REDIS_DB}`);
  try {
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      await pub.publish(CONFIG_CHANGED_CHANNEL, JSON.stringify({ kind: "model" }));
      const list = await c.openai.models.list();
      if (list.data.some((m) => m.id === expectId)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`proxy never listed ${expectId}`);
  } finally {
    pub.disconnect();
  }
}

beforeAll(async () => {
  c = await setupConformance({
    mock: "openai",
    providerType: "openai",
    suite: "embeddings",
    redisDb: REDIS_DB,
    models: [{ name: "text-embedding-3-small", upstreamModel: "text-embedding-3-small", pricing: { inputPerMTok: "0.02", outputPerMTok: "0" } }],
  });
  geminiUrl = await startFakeGemini();
  const provider = await c.prisma.providerCredential.create({
    data: { slug: "gemini-main", type: "gemini", baseUrl: geminiUrl, keys: { create: { label: "default", apiKeyRef: "env:CONFORMANCE_UPSTREAM_KEY" } } },
  });
  await c.prisma.model.create({
    data: {
      name: "gemini-embed",
      providerId: provider.id,
      upstreamModel: "gemini-embedding-001",
      pricing: { inputPerMTok: "0.15", outputPerMTok: "0" },
      capabilities: { contextWindow: 2048, tools: false, vision: false },
    },
  });
  await c.prisma.model.update({ where: { name: "text-embedding-3-small" }, data: { capabilities: { contextWindow: 8192, jsonMode: false } } });
  await c.prisma.route.create({ data: { alias: "embed-default", targets: [{ model: "text-embedding-3-small" }, { model: "gemini-embed" }] } });
  await reloadUntilListed("embed-default");
});
afterAll(async () => {
  await c.close();
  await new Promise((r) => gemini.close(r));
});

const norm = (v: number[]) => Math.hypot(...v);

describe("embeddings through the OpenAI SDK (OpenAI upstream)", () => {
  it("float: vectors in input order, usage, headers and the usage event", async () => {
    const { data, response } = await c.openai.embeddings
      .create({ model: "text-embedding-3-small", input: ["hello world", "bye"], encoding_format: "float" })
      .withResponse();
    expect(data.object).toBe("list");
    expect(data.data.map((d) => d.index)).toEqual([0, 1]);
    expect(data.data[0]!.embedding).toHaveLength(1536);
    expect(norm(data.data[0]!.embedding)).toBeCloseTo(1, 5);
    expect(data.data[0]!.embedding).not.toEqual(data.data[1]!.embedding);
    // The mock's count: ceil(11/4) + ceil(3/4).
    expect(data.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    expect(response.headers.get("x-switchyard-provider")).toBe("openai");
    expect(response.headers.get("x-switchyard-model")).toBe("text-embedding-3-small");
    expect(response.headers.get("x-switchyard-cost-usd")).toBe("0.000000080");
    const sent = c.mock.requests.at(-1)!;
    expect(sent.path).toBe("/v1/embeddings");
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent.body).toMatchObject({ model: "text-embedding-3-small", encoding_format: "float" });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev).toMatchObject({ endpoint: "embeddings", provider: "openai", servedModel: "text-embedding-3-small", status: 200, usageSource: "provider", costNanoUsd: "80" });
    expect(ev.usage).toMatchObject({ inputTokens: 4, outputTokens: 0 });
  });

  it("base64: the SDK's default (it asks for base64 and decodes) gives the same vectors; explicit base64 returns the string", async () => {
    const floats = await c.openai.embeddings.create({ model: "text-embedding-3-small", input: "hello world", encoding_format: "float" });
    const viaDefault = await c.openai.embeddings.create({ model: "text-embedding-3-small", input: "hello world" });
    expect(c.mock.requests.at(-1)!.body).toMatchObject({ encoding_format: "base64" });
    expect(viaDefault.data[0]!.embedding).toEqual(floats.data[0]!.embedding);
    const explicit = await c.openai.embeddings.create({ model: "text-embedding-3-small", input: "hello world", encoding_format: "base64" });
    const b64 = explicit.data[0]!.embedding as unknown as string;
    expect(typeof b64).toBe("string");
    const buf = Buffer.from(b64, "base64");
    expect(Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4))).toEqual(floats.data[0]!.embedding);
  });

  it("dimensions and token-id input pass through", async () => {
    const r = await c.openai.embeddings.create({ model: "text-embedding-3-small", input: [[1212, 318, 257]], dimensions: 256, encoding_format: "float" });
    expect(r.data[0]!.embedding).toHaveLength(256);
    expect(r.usage.prompt_tokens).toBe(3);
    expect(c.mock.requests.at(-1)!.body).toMatchObject({ dimensions: 256, input: [[1212, 318, 257]] });
  });

  it("errors in OpenAI's shape: unknown model 404, bad input 400, upstream error passes through", async () => {
    await expect(c.openai.embeddings.create({ model: "nope", input: "x" })).rejects.toMatchObject({ status: 404, code: "model_not_found" });
    await expect(c.openai.embeddings.create({ model: "text-embedding-3-small", input: "" })).rejects.toMatchObject({ status: 400, param: "input" });
    c.mock.setFault("status:429");
    try {
      await expect(c.openai.embeddings.create({ model: "text-embedding-3-small", input: "x" })).rejects.toMatchObject({ status: 429 });
    } finally {
      c.mock.setFault(null);
    }
  });
});

describe("embeddings to Gemini (no usage reported: estimated)", () => {
  it("translates batchEmbedContents, estimates usage with the tokenizer and marks the event estimated", async () => {
    const input = ["The quick brown fox", "jumps over the lazy dog"];
    const { data, response } = await c.openai.embeddings.create({ model: "gemini-embed", input, encoding_format: "float", dimensions: 3 }).withResponse();
    const sent = geminiRequests.at(-1)!;
    expect(sent.url).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(sent.body.requests.map((r) => r.content.parts[0]!.text)).toEqual(input);
    expect(sent.body.requests[0]).toMatchObject({ model: "models/gemini-embedding-001", outputDimensionality: 3 });
    expect(data.data.map((d) => d.embedding)).toEqual([
      [0.5, -0.25, input[0]!.length],
      [1.5, -0.25, input[1]!.length],
    ]);
    const expected = (await countEmbeddingInputTokens(input, "gemini-embedding-001", "gemini")).tokens;
    expect(data.usage).toEqual({ prompt_tokens: expected, total_tokens: expected });
    expect(data.model).toBe("gemini-embed");
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev).toMatchObject({ endpoint: "embeddings", provider: "gemini-main", usageSource: "estimated" });
    expect(ev.usage.inputTokens).toBe(expected);
    // 0.15 USD per million tokens.
    expect(ev.costNanoUsd).toBe(String(expected * 150));
  });

  it("base64 for a provider that returns floats: the gateway encodes little-endian float32", async () => {
    const r = await c.openai.embeddings.create({ model: "gemini-embed", input: "hi" });
    expect(r.data[0]!.embedding).toEqual([0.5, -0.25, 2]);
  });
});

describe("GET /v1/models: provider and capabilities", () => {
  it("lists models with provider, type and capabilities, and aliases with their targets", async () => {
    const res = await fetch(`${c.proxyUrl}/v1/models`, { headers: { authorization: `Bearer ${c.virtualKey}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: Record<string, unknown>[] };
    expect(body.object).toBe("list");
    expect(body.data.map((m) => m.id)).toEqual(["embed-default", "gemini-embed", "text-embedding-3-small"]);
    expect(body.data.find((m) => m.id === "gemini-embed")).toEqual({
      id: "gemini-embed",
      object: "model",
      created: expect.any(Number) as number,
      owned_by: "gemini-main",
      provider: "gemini-main",
      provider_type: "gemini",
      capabilities: { context_window: 2048, max_output_tokens: null, tools: false, vision: false, json_mode: null },
    });
    expect(body.data.find((m) => m.id === "embed-default")).toMatchObject({
      owned_by: "switchyard",
      provider: null,
      provider_type: null,
      // The smallest window of the targets; a feature any target lacks is false, unknown on all is null.
      capabilities: { context_window: 2048, max_output_tokens: null, tools: false, vision: false, json_mode: false },
      targets: [
        { model: "text-embedding-3-small", provider: "openai", provider_type: "openai" },
        { model: "gemini-embed", provider: "gemini-main", provider_type: "gemini" },
      ],
    });
    // The SDK still parses the list.
    const listed = await c.openai.models.list();
    expect(listed.data.map((m) => m.id)).toContain("text-embedding-3-small");
  });
});
