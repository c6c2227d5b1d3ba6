import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockUpstream, type MockUpstream } from "../index";
import { lexicalEmbedding, lexicalTokens, lightStem } from "./lexical-embedding";
import { mockEmbeddingVector } from "./openai-embeddings";

const cos = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const embed = (t: string) => lexicalEmbedding(t, 256)!;

describe("lexical embedder", () => {
  it("stems plurals, -ing, -ed, -ly and a final e to one form", () => {
    expect(new Set(["reverse", "reversed", "reversing", "reverses"].map(lightStem))).toEqual(new Set(["revers"]));
    expect(lightStem("cities")).toBe("city");
    expect(lightStem("running")).toBe("run");
    expect(lightStem("boxes")).toBe("box");
    expect(lightStem("quickly")).toBe("quick");
    expect(lightStem("class")).toBe("class");
    expect(lightStem("2024")).toBe("2024");
  });

  it("drops stop words and punctuation, keeps negations and numbers", () => {
    expect(lexicalTokens("What's the capital of France?")).toEqual(["capital", "franc"]);
    expect(lexicalTokens("Why doesn't my code compile without 2 flags?")).toEqual(["why", "not", "code", "compil", "without", "2", "flag"]);
  });

  it("unit length, deterministic, similar wording closer than different wording", () => {
    const a = embed("How do I reverse a list in Python?");
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    expect(embed("How do I reverse a list in Python?")).toEqual(a);
    // Only stop words differ: the same vector.
    expect(cos(a, embed("How can I reverse a list in Python, please?"))).toBeCloseTo(1, 5);
    const paraphrase = cos(a, embed("Reversing a Python list: how?"));
    const other = cos(a, embed("How do I sort a dictionary in Python?"));
    expect(paraphrase).toBeGreaterThan(0.75);
    expect(other).toBeLessThan(paraphrase - 0.4);
    // Word order matters a little (bigrams): the same words reordered are close but not identical.
    const swapped = cos(embed("convert celsius to fahrenheit"), embed("convert fahrenheit to celsius"));
    expect(swapped).toBeLessThan(0.99);
    expect(swapped).toBeGreaterThan(0.7);
  });

  it("null when nothing is left to embed (the caller falls back to the hash vector)", () => {
    expect(lexicalEmbedding("What is the ...?", 64)).toBeNull();
  });
});

describe("the mock's /v1/embeddings modes", () => {
  let mock: MockUpstream;
  beforeAll(async () => {
    mock = await startMockUpstream({ embeddings: "lexical" });
  });
  afterAll(() => mock.close());

  async function post(body: unknown): Promise<{ data: { embedding: number[] }[] }> {
    const res = await request(`${mock.url}/embeddings`, {
      method: "POST",
      headers: { authorization: "Bearer sk-test", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.statusCode).toBe(200);
    return (await res.body.json()) as { data: { embedding: number[] }[] };
  }

  it("lexical: text inputs get the lexical vector at the requested size; token ids keep the hash", async () => {
    const r = await post({ model: "text-embedding-3-small", input: ["capital of France", "the ..."], dimensions: 128 });
    expect(r.data[0]!.embedding).toEqual(lexicalEmbedding("capital of France", 128));
    expect(r.data[1]!.embedding).toEqual(mockEmbeddingVector("the ...", 128));
    const ids = await post({ model: "text-embedding-3-small", input: [[1, 2, 3]], dimensions: 16 });
    expect(ids.data[0]!.embedding).toEqual(mockEmbeddingVector("1,2,3", 16));
  });

  it("hash (the default) is unchanged, and setEmbeddings switches a running mock", async () => {
    mock.setEmbeddings("hash");
    try {
      const r = await post({ model: "text-embedding-3-small", input: "capital of France" });
      expect(r.data[0]!.embedding).toEqual(mockEmbeddingVector("capital of France", 1536));
    } finally {
      mock.setEmbeddings("lexical");
    }
    const r = await post({ model: "text-embedding-3-small", input: "capital of France" });
    expect(r.data[0]!.embedding).toEqual(lexicalEmbedding("capital of France", 1536));
  });
});
