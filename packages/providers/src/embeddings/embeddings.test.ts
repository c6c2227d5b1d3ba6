/**
 * Embeddings translation per provider. Request/response shapes follow each provider's
 * public API reference (OpenAI: /work/shared/specs/openai-openapi.yaml CreateEmbeddingRequest
 * and CreateEmbeddingResponse; Gemini batchEmbedContents; Cohere v2 /embed; Mistral and
 * Azure OpenAI embeddings).
 */
import { describe, expect, it } from "vitest";
import type { UpstreamTarget } from "../types";
import {
  decodeFloat32Base64,
  encodeFloat32Base64,
  EmbeddingRequestError,
  getEmbeddingAdapter,
  type EmbeddingRequest,
  type OpenAiEmbeddingList,
} from "./index";

const target = (over: Partial<UpstreamTarget> = {}): UpstreamTarget => ({ baseUrl: null, apiKey: "sk-up", upstreamModel: "m", ...over });
const adapter = (type: string) => {
  const a = getEmbeddingAdapter(type);
  if (!a) throw new Error(`no embeddings adapter for ${type}`);
  return a;
};
const body = (s: string) => JSON.parse(s) as Record<string, unknown>;

/** OpenAI's documented response example shape. */
const openAiReply = {
  object: "list",
  data: [{ object: "embedding", embedding: [0.0023064255, -0.009327292, -0.0028842222], index: 0 }],
  model: "text-embedding-3-small",
  usage: { prompt_tokens: 8, total_tokens: 8 },
};

describe("base64 float32", () => {
  it("encodes little-endian float32 the way OpenAI does, and decodes back", () => {
    // 1.0f = 0x3f800000 → bytes 00 00 80 3f
    expect(encodeFloat32Base64([1])).toBe(Buffer.from([0, 0, 0x80, 0x3f]).toString("base64"));
    const v = [0.0023064255, -0.009327292, 0.5];
    expect(decodeFloat32Base64(encodeFloat32Base64(v))).toEqual(v.map((x) => Math.fround(x)));
  });
});

describe("openai and openai-compatible", () => {
  it("forwards the body (model swapped, base64 and dimensions kept) and passes the reply through", () => {
    const req: EmbeddingRequest = { model: "public", input: ["a", "b"], encoding_format: "base64", dimensions: 256, user: "u1" };
    const p = adapter("openai").prepareEmbeddingRequest(req, target({ upstreamModel: "text-embedding-3-small" }));
    expect(p.http.url).toBe("https://api.openai.com/v1/embeddings");
    expect(p.http.headers.authorization).toBe("Bearer sk-up");
    expect(body(p.http.body)).toEqual({ model: "text-embedding-3-small", input: ["a", "b"], encoding_format: "base64", dimensions: 256, user: "u1" });
    expect(p.droppedParams).toEqual([]);
    expect(adapter("openai").translateEmbeddingResponse(openAiReply, { model: "public", encodingFormat: "base64", estimatedInputTokens: null })).toBeNull();
    expect(adapter("openai").extractEmbeddingUsage(openAiReply)).toMatchObject({ inputTokens: 8, outputTokens: 0 });
  });

  it("compatible servers use their own base URL and may send no key", () => {
    const p = adapter("openai-compatible").prepareEmbeddingRequest({ model: "x", input: "hi" }, target({ baseUrl: "http://localhost:11434/v1/", apiKey: null }));
    expect(p.http.url).toBe("http://localhost:11434/v1/embeddings");
    expect(p.http.headers.authorization).toBeUndefined();
  });
});

describe("azure", () => {
  it("classic deployment URL with api-version and api-key header", () => {
    const p = adapter("azure").prepareEmbeddingRequest(
      { model: "emb", input: "hi", dimensions: 512 },
      target({ baseUrl: "https://acme.openai.azure.com", upstreamModel: "emb-deploy", apiVersion: "2024-10-21" }),
    );
    expect(p.http.url).toBe("https://acme.openai.azure.com/openai/deployments/emb-deploy/embeddings?api-version=2024-10-21");
    expect(p.http.headers["api-key"]).toBe("sk-up");
    expect(p.http.headers.authorization).toBeUndefined();
    expect(body(p.http.body)).toMatchObject({ input: "hi", dimensions: 512 });
  });

  it("v1 base URL: OpenAI's path", () => {
    const p = adapter("azure").prepareEmbeddingRequest({ model: "emb", input: "hi" }, target({ baseUrl: "https://acme.openai.azure.com/openai/v1" }));
    expect(p.http.url).toBe("https://acme.openai.azure.com/openai/v1/embeddings");
  });
});

describe("mistral", () => {
  const reply = { id: "e1", object: "list", data: [{ object: "embedding", embedding: [0.25, -0.5], index: 0 }], model: "mistral-embed", usage: { prompt_tokens: 6, total_tokens: 6, completion_tokens: 0 } };

  it("sends only model, input and output_dimension; user is reported as dropped", () => {
    const p = adapter("mistral").prepareEmbeddingRequest({ model: "pub", input: "hi", dimensions: 256, user: "u", encoding_format: "base64" }, target({ upstreamModel: "codestral-embed" }));
    expect(p.http.url).toBe("https://api.mistral.ai/v1/embeddings");
    expect(body(p.http.body)).toEqual({ model: "codestral-embed", input: ["hi"], output_dimension: 256 });
    expect(p.droppedParams).toEqual(["user"]);
    expect(p.encodingFormat).toBe("base64");
  });

  it("float replies pass through; base64 is encoded by us", () => {
    const m = adapter("mistral");
    expect(m.translateEmbeddingResponse(reply, { model: "pub", encodingFormat: "float", estimatedInputTokens: null })).toBeNull();
    const out = m.translateEmbeddingResponse(reply, { model: "pub", encodingFormat: "base64", estimatedInputTokens: null })!;
    expect(out.data[0]!.embedding).toBe(encodeFloat32Base64([0.25, -0.5]));
    expect(out.usage).toEqual({ prompt_tokens: 6, total_tokens: 6 });
    expect(m.extractEmbeddingUsage(reply)).toMatchObject({ inputTokens: 6 });
  });

  it("refuses token-id input (text only)", () => {
    expect(() => adapter("mistral").prepareEmbeddingRequest({ model: "x", input: [1, 2, 3] }, target())).toThrow(EmbeddingRequestError);
  });
});

describe("gemini", () => {
  const reply = { embeddings: [{ values: [0.1, 0.2, 0.3] }, { values: [0.4, 0.5, 0.6] }] };

  it("batchEmbedContents: one request per text, models/ prefix, outputDimensionality, x-goog-api-key", () => {
    const p = adapter("gemini").prepareEmbeddingRequest({ model: "pub", input: ["a", "b"], dimensions: 768, user: "u" }, target({ upstreamModel: "gemini-embedding-001" }));
    expect(p.http.url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(p.http.headers["x-goog-api-key"]).toBe("sk-up");
    expect(p.http.url).not.toContain("sk-up");
    expect(body(p.http.body)).toEqual({
      requests: [
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "a" }] }, outputDimensionality: 768 },
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "b" }] }, outputDimensionality: 768 },
      ],
    });
    expect(p.droppedParams).toEqual(["user"]);
  });

  it("translates to OpenAI's list with the estimated usage (Gemini reports none)", () => {
    const g = adapter("gemini");
    expect(g.reportsUsage).toBe(false);
    expect(g.extractEmbeddingUsage(reply)).toBeNull();
    const out: OpenAiEmbeddingList = g.translateEmbeddingResponse(reply, { model: "pub", encodingFormat: "float", estimatedInputTokens: 2 })!;
    expect(out).toEqual({
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: [0.1, 0.2, 0.3] },
        { object: "embedding", index: 1, embedding: [0.4, 0.5, 0.6] },
      ],
      model: "pub",
      usage: { prompt_tokens: 2, total_tokens: 2 },
    });
    const b64 = g.translateEmbeddingResponse(reply, { model: "pub", encodingFormat: "base64", estimatedInputTokens: 2 })!;
    expect(decodeFloat32Base64(b64.data[1]!.embedding as string)).toEqual([0.4, 0.5, 0.6].map((x) => Math.fround(x)));
  });
});

describe("cohere", () => {
  // Cohere v2 /embed reply (embedding_types: ["float"]).
  const reply = {
    id: "b7c2",
    embeddings: { float: [[-0.018445116, 0.008921167], [0.5, 0.25]] },
    texts: ["Hello, world!", "Bye"],
    meta: { api_version: { version: "2" }, billed_units: { input_tokens: 5 } },
    response_type: "embeddings_by_type",
  };

  it("v2/embed with texts, float embedding type, search_document by default, output_dimension", () => {
    const p = adapter("cohere").prepareEmbeddingRequest({ model: "pub", input: ["Hello, world!", "Bye"], dimensions: 1024 }, target({ upstreamModel: "embed-v4.0" }));
    expect(p.http.url).toBe("https://api.cohere.com/v2/embed");
    expect(p.http.headers.authorization).toBe("Bearer sk-up");
    expect(body(p.http.body)).toEqual({ model: "embed-v4.0", texts: ["Hello, world!", "Bye"], input_type: "search_document", embedding_types: ["float"], output_dimension: 1024 });
  });

  it("accepts Cohere's input_type as an extension", () => {
    const p = adapter("cohere").prepareEmbeddingRequest({ model: "pub", input: "q", input_type: "search_query" }, target());
    expect(body(p.http.body).input_type).toBe("search_query");
  });

  it("translates embeddings.float and bills meta.billed_units.input_tokens", () => {
    const c = adapter("cohere");
    expect(c.extractEmbeddingUsage(reply)).toMatchObject({ inputTokens: 5, outputTokens: 0 });
    const out = c.translateEmbeddingResponse(reply, { model: "pub", encodingFormat: "float", estimatedInputTokens: null })!;
    expect(out.data.map((d) => d.index)).toEqual([0, 1]);
    expect(out.data[0]!.embedding).toEqual([-0.018445116, 0.008921167]);
    expect(out.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
  });
});

describe("registry", () => {
  it("covers every provider with an embeddings API, and not Anthropic", () => {
    for (const t of ["openai", "openai-compatible", "azure", "mistral", "gemini", "cohere"]) expect(getEmbeddingAdapter(t)?.types).toContain(t);
    expect(getEmbeddingAdapter("anthropic")).toBeNull();
  });
});
