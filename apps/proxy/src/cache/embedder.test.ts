/**
 * The semantic cache's embedder against the mock upstream (OpenAI personality, lexical
 * embeddings), through the same adapters as /v1/embeddings.
 */
import { Agent } from "undici";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lexicalEmbedding, startMockUpstream, type MockUpstream } from "@switchyard/mock-upstream";
import { ProxyMetrics } from "../metrics";
import type { ModelEntry, ProviderEntry, RouteEntry, Snapshot } from "../snapshot";
import { createEmbedder, type Embedder, type EmbedderDeps } from "./embedder";

let mock: MockUpstream;
let dispatcher: Agent;
let embed: Embedder;
const metrics = new ProxyMetrics();

function provider(slug: string, type: string, baseUrl: string): ProviderEntry {
  return { id: slug, slug, type, baseUrl, apiVersion: null, keys: [{ id: `${slug}-k`, label: "default", apiKey: "sk-upstream" }], nextKey: 0 };
}

function model(name: string, p: ProviderEntry, orgId: string | null = null): ModelEntry {
  return { name, orgId, upstreamModel: name, provider: p, pricing: { inputPerMTok: "0.02", outputPerMTok: "0" }, capabilities: {}, createdAt: new Date(0) };
}

function snapshotWith(models: ModelEntry[], routes: RouteEntry[] = []): Snapshot {
  return {
    keysByHash: new Map(),
    models: new Map(models.map((m) => [m.name, m])),
    routes: new Map(routes.map((r) => [r.alias, r])),
    teams: new Map(),
    orgs: new Map(),
    budgetsByKey: new Map(),
    budgetsByTeam: new Map(),
    budgetsByOrg: new Map(),
    priceOverrides: new Map(),
    loadedAt: new Date(0),
  };
}

beforeAll(async () => {
  mock = await startMockUpstream({ embeddings: "lexical" });
  dispatcher = new Agent();
  const openai = provider("openai", "openai", mock.url);
  const snapshot = snapshotWith(
    [
      model("text-embedding-3-small", openai),
      model("org-b-embedder", openai, "org-b"),
      model("claude-haiku", provider("anthropic", "anthropic", mock.url)),
    ],
    [{ alias: "embed-default", orgId: null, strategy: "fallback", targets: [{ model: "text-embedding-3-small", weight: 1, when: null }], strict: false, options: {}, createdAt: new Date(0) }],
  );
  const deps: EmbedderDeps = {
    config: { upstreamHeadersTimeoutMs: 10_000, upstreamBodyTimeoutMs: 10_000 },
    getSnapshot: () => snapshot,
    dispatcher,
    metrics,
    logger: pino({ level: "silent" }),
  };
  embed = createEmbedder(deps, { timeoutMs: 500 });
});
afterAll(async () => {
  await mock.close();
  await dispatcher.close();
});

const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("createEmbedder", () => {
  it("embeds through the provider adapter: the mock's vector, usage and the model that served it", async () => {
    const r = await embed("text-embedding-3-small", "org-a", "What is the capital of France?");
    expect(r).not.toBeNull();
    expect(Array.from(r!.vector)).toEqual(lexicalEmbedding("What is the capital of France?", 1536));
    expect(r!.usage).toMatchObject({ inputTokens: 8, outputTokens: 0 });
    expect(r!.model.name).toBe("text-embedding-3-small");
    const sent = mock.requests.at(-1)!;
    expect(sent.path).toBe("/v1/embeddings");
    expect(sent.headers.authorization).toBe("Bearer sk-upstream");
    expect(sent.body).toEqual({ model: "text-embedding-3-small", input: "What is the capital of France?", encoding_format: "base64" });
    expect(metrics.render()).toContain('provider="openai"');
  });

  it("similar prompts embed close, different ones far (lexical mock)", async () => {
    const [a, b, c] = await Promise.all(
      ["How do I reverse a list in Python?", "How can I reverse a list in Python?", "What is the boiling point of water?"].map((t) => embed("text-embedding-3-small", "org-a", t)),
    );
    expect(cos(a!.vector, b!.vector)).toBeGreaterThan(0.99);
    expect(cos(a!.vector, c!.vector)).toBeLessThan(0.3);
  });

  it("a route alias resolves to its first target", async () => {
    const r = await embed("embed-default", "org-a", "hello world");
    expect(r?.model.name).toBe("text-embedding-3-small");
    expect(mock.requests.at(-1)!.body).toMatchObject({ model: "text-embedding-3-small" });
  });

  it("null, never a throw: unknown model, another org's model, a provider without embeddings, upstream errors, timeouts, abort", async () => {
    expect(await embed("nope", "org-a", "x")).toBeNull();
    expect(await embed("org-b-embedder", "org-a", "x")).toBeNull();
    expect((await embed("org-b-embedder", "org-b", "x"))?.model.name).toBe("org-b-embedder");
    expect(await embed("claude-haiku", "org-a", "x")).toBeNull();
    mock.setFault("status:500");
    try {
      expect(await embed("text-embedding-3-small", "org-a", "x")).toBeNull();
      mock.setFault("timeout");
      const startedAt = Date.now();
      expect(await embed("text-embedding-3-small", "org-a", "x")).toBeNull();
      expect(Date.now() - startedAt).toBeLessThan(5000);
      const controller = new AbortController();
      const pending = embed("text-embedding-3-small", "org-a", "x", controller.signal);
      controller.abort();
      expect(await pending).toBeNull();
    } finally {
      mock.setFault(null);
    }
    expect(await embed("text-embedding-3-small", "org-a", "back to normal")).not.toBeNull();
  });
});
