/**
 * Cost of real recorded provider replies (../shared/fixtures/providers, see SOURCES.md):
 * usage is read by the provider adapters exactly as the proxy reads it (extractChatUsage
 * for bodies; transformStream/finishStream/streamUsage for streams, i.e. the final usage
 * chunk), then priced by the registry. Every expectation is worked by hand in a comment.
 * Lives in the proxy because only an app may import both providers and pricing.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { ModelPricing, TokenUsage } from "@switchyard/contracts";
import { computeCostNanoUsd, formatNanoUsd, priceAt, resolvePricing } from "@switchyard/pricing";
import { getProviderAdapter, type ProviderAdapter } from "@switchyard/providers";
import { frameAnthropicEvents } from "@switchyard/mock-upstream/fixtures-anthropic";
import { cohereSseFromChunks } from "@switchyard/mock-upstream/fixtures-cohere";
import { geminiSseFrames } from "@switchyard/mock-upstream/fixtures-gemini";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../shared/fixtures/providers");
const read = (name: string) => readFileSync(path.join(FIXTURES, name), "utf8");
const json = (name: string) => JSON.parse(read(name)) as Record<string, unknown>;
const lines = (name: string) => read(name).split(/\r?\n/).filter((l) => l.trim() !== "");

interface Cassette {
  interactions: { response: { parsed_body?: Record<string, unknown>; body?: { string: string } } }[];
}
const cassette = (name: string) => (parseYaml(read(name)) as Cassette).interactions.map((i) => i.response);

function adapter(type: string): ProviderAdapter {
  const a = getProviderAdapter(type);
  if (!a) throw new Error(`no adapter for ${type}`);
  return a;
}

function bodyUsage(type: string, body: unknown): TokenUsage {
  const u = adapter(type).extractChatUsage(body);
  if (!u) throw new Error("no usage in body");
  return u;
}

/** Feeds a recorded stream through the adapter in small pieces, as the network would. */
function streamUsage(type: string, sse: string, model = "m"): TokenUsage {
  const a = adapter(type);
  let state = a.initStreamState({ clientWantsUsage: false, model });
  for (let i = 0; i < sse.length; i += 97) state = a.transformStream(state, sse.slice(i, i + 97)).state;
  state = a.finishStream(state).state;
  const u = a.streamUsage(state);
  if (!u) throw new Error("no usage in stream");
  return u;
}

/** Registry price of the recorded model at the recorded time (`created`, seconds). */
function registryPrice(model: string, createdSeconds?: number): ModelPricing {
  const at = createdSeconds === undefined ? new Date() : new Date(createdSeconds * 1000);
  const p = resolvePricing(model, null, null, at);
  if (!p) throw new Error(`${model} is unpriced`);
  return p;
}

describe("OpenAI", () => {
  it("cached tokens (gpt-4o-2024-08-06 → gpt-4o): 1248 prompt of which 1152 cached, 10 out", () => {
    const body = json("openai__chat-cached-tokens__helicone.json");
    const u = bodyUsage("openai", body);
    expect(u).toMatchObject({ inputTokens: 1248, cachedInputTokens: 1152, outputTokens: 10 });
    // 96 × 2.50 + 1152 × 1.25 + 10 × 10.00 = 240 + 1440 + 100 = 1780 micro-USD
    const cost = computeCostNanoUsd(u, registryPrice(body.model as string, body.created as number));
    expect(cost).toBe(1_780_000n);
    expect(formatNanoUsd(cost)).toBe("0.001780000");
  });

  it("stream: usage from the final usage-only chunk (gpt-4o-2024-08-06)", () => {
    const u = streamUsage("openai", read("openai__chat-text-stream-sse__helicone.sse"));
    expect(u).toMatchObject({ inputTokens: 1248, cachedInputTokens: 0, outputTokens: 10 });
    // 1248 × 2.50 + 10 × 10.00 = 3120 + 100 = 3220 micro-USD
    expect(computeCostNanoUsd(u, registryPrice("gpt-4o-2024-08-06"))).toBe(3_220_000n);
  });

  it("text (gpt-4.1-nano-2025-04-14): 16 in, 363 out", () => {
    const body = json("openai__chat-text__vercel-ai.json");
    const u = bodyUsage("openai", body);
    // 16 × 0.10 + 363 × 0.40 = 1.6 + 145.2 = 146.8 micro-USD
    expect(computeCostNanoUsd(u, registryPrice(body.model as string, body.created as number))).toBe(146_800n);
  });

  it("reasoning tokens are billed as output (gpt-5-mini-2025-08-07, 256 of 429 output are reasoning)", () => {
    const [first, second] = cassette("openai__chat-vision-image-url__pydantic-ai.yaml").map((r) => r.parsed_body!);
    const u1 = bodyUsage("openai", first);
    const u2 = bodyUsage("openai", second);
    expect(u2).toMatchObject({ inputTokens: 334, outputTokens: 429, reasoningTokens: 256 });
    const p = registryPrice(second!.model as string, second!.created as number);
    // 129 × 0.25 + 19 × 2.00 = 32.25 + 38 = 70.25 micro-USD
    expect(computeCostNanoUsd(u1, p)).toBe(70_250n);
    // 334 × 0.25 + 429 × 2.00 = 83.5 + 858 = 941.5 micro-USD (reasoning inside the 429)
    expect(computeCostNanoUsd(u2, p)).toBe(941_500n);
  });

  it("tool-call stream, both turns (gpt-4o-mini-2024-07-18)", () => {
    const turns = cassette("openai__chat-tool-call-stream__pydantic-ai.yaml").map((r) => streamUsage("openai", r.body!.string));
    const p = registryPrice("gpt-4o-mini-2024-07-18");
    // 53 × 0.15 + 15 × 0.60 = 7.95 + 9 = 16.95 micro-USD; 78 × 0.15 + 9 × 0.60 = 11.7 + 5.4 = 17.1
    expect(turns.map((u) => computeCostNanoUsd(u, p))).toEqual([16_950n, 17_100n]);
  });
});

describe("Azure OpenAI", () => {
  it("chat (gpt-4.1-2025-04-14): 18 in, 100 out", () => {
    const body = json("azure__chat-text-content-filter-results__helicone.json");
    const u = bodyUsage("azure", body);
    // 18 × 2.00 + 100 × 8.00 = 36 + 800 = 836 micro-USD
    expect(computeCostNanoUsd(u, registryPrice(body.model as string, body.created as number))).toBe(836_000n);
  });

  it("stream: the same reply streamed, usage from the final chunk", () => {
    const u = streamUsage("azure", read("azure__chat-text-stream-sse__helicone.sse"));
    expect(computeCostNanoUsd(u, registryPrice("gpt-4.1-2025-04-14"))).toBe(836_000n);
  });
});

describe("Anthropic", () => {
  it("cache read and cache write (claude-3-5-sonnet-20241022): 9 uncached + 50 written + 183 read, 12 out", () => {
    const body = json("anthropic__cache-read__helicone.json");
    const u = bodyUsage("anthropic", body);
    expect(u).toEqual({ inputTokens: 242, cachedInputTokens: 183, cacheWriteTokens: 50, outputTokens: 12, reasoningTokens: 0 });
    // 9 × 3 + 50 × 3.75 + 183 × 0.30 + 12 × 15 = 27 + 187.5 + 54.9 + 180 = 449.4 micro-USD
    expect(computeCostNanoUsd(u, registryPrice(body.model as string))).toBe(449_400n);
  });

  it("stream with cache (claude-3-5-haiku-20241022): 338 + 20 written + 500 read, 65 out", () => {
    const u = streamUsage("anthropic", read("anthropic__tool-use-stream-sse-cache__helicone.sse"));
    expect(u).toMatchObject({ inputTokens: 858, cachedInputTokens: 500, cacheWriteTokens: 20, outputTokens: 65 });
    // 338 × 0.80 + 20 × 1.00 + 500 × 0.08 + 65 × 4 = 270.4 + 20 + 40 + 260 = 590.4 micro-USD
    // (the 20 written tokens were a 1-hour write, $1.60/MTok; TokenUsage has one write count,
    // billed at the 5-minute rate: see the report)
    expect(computeCostNanoUsd(u, registryPrice("claude-3-5-haiku-20241022"))).toBe(590_400n);
  });

  it("thinking reply (claude-sonnet-4-5-20250929): thinking is inside output_tokens", () => {
    const body = json("anthropic__thinking__vercel-ai.json");
    const u = bodyUsage("anthropic", body);
    // 69 × 3 + 33 × 15 = 207 + 495 = 702 micro-USD
    expect(computeCostNanoUsd(u, registryPrice(body.model as string))).toBe(702_000n);
  });

  it("text stream (claude-sonnet-4-5-20250929): usage merged from message_start and message_delta", () => {
    const u = streamUsage("anthropic", frameAnthropicEvents(lines("anthropic__text-stream__vercel-ai.chunks.txt")).join(""));
    const p = registryPrice("claude-sonnet-4-5-20250929");
    expect(computeCostNanoUsd(u, p)).toBe(BigInt(u.inputTokens) * 3_000n + BigInt(u.outputTokens) * 15_000n);
    expect(u.outputTokens).toBeGreaterThan(0);
  });
});

describe("DeepSeek (OpenAI-compatible)", () => {
  it("reasoning + cache (deepseek-reasoner, recorded 2025-12-02): price in force then", () => {
    const body = json("deepseek__tool-call-reasoning-cache__vercel-ai.json");
    const u = bodyUsage("openai-compatible", body);
    expect(u).toEqual({ inputTokens: 339, cachedInputTokens: 320, cacheWriteTokens: 0, outputTokens: 92, reasoningTokens: 48 });
    expect(priceAt("deepseek-reasoner", new Date((body.created as number) * 1000))?.effectiveFrom).toBe("2025-09-29");
    // 19 × 0.28 + 320 × 0.028 + 92 × 0.42 = 5.32 + 8.96 + 38.64 = 52.92 micro-USD
    expect(computeCostNanoUsd(u, registryPrice(body.model as string, body.created as number))).toBe(52_920n);
    // the same usage under the R1 price of 2025-06: 19 × 0.55 + 320 × 0.14 + 92 × 2.19 = 10.45 + 44.8 + 201.48
    expect(computeCostNanoUsd(u, resolvePricing("deepseek-reasoner", null, null, "2025-06-01")!)).toBe(256_730n);
  });

  it("stream (deepseek-chat): usage from the last chunk", () => {
    const chunks = lines("deepseek__text-stream__vercel-ai.chunks.txt");
    const created = (JSON.parse(chunks[0]!) as { created: number }).created;
    const u = streamUsage("openai-compatible", chunks.map((c) => `data: ${c}\n\n`).join("") + "data: [DONE]\n\n");
    expect(u).toMatchObject({ inputTokens: 13, outputTokens: 400, cachedInputTokens: 0 });
    // 13 × 0.28 + 400 × 0.42 = 3.64 + 168 = 171.64 micro-USD
    expect(computeCostNanoUsd(u, registryPrice("deepseek-chat", created))).toBe(171_640n);
  });
});

describe("providers whose recorded models have no confirmed list price: unpriced, never $0", () => {
  // What an organisation's PriceOverride would supply for these models.
  const override = { inputPerMTok: "2.00", outputPerMTok: "12.00" };

  it("Gemini (gemini-3-pro-preview): thoughts are output; unpriced without an override", () => {
    const body = json("gemini__text__vercel-ai.json");
    const u = bodyUsage("gemini", body);
    expect(u).toMatchObject({ inputTokens: 9, outputTokens: 272, reasoningTokens: 244 });
    expect(resolvePricing(body.modelVersion as string)).toBeNull();
    // 9 × 2 + (28 + 244) × 12 = 18 + 3264 = 3282 micro-USD
    expect(computeCostNanoUsd(u, resolvePricing(body.modelVersion as string, null, override)!)).toBe(3_282_000n);
  });

  it("Gemini stream: usage from the last chunk (9 in, 23 + 185 thoughts out)", () => {
    const u = streamUsage("gemini", geminiSseFrames(lines("gemini__text-stream__vercel-ai.chunks.txt")).join(""));
    expect(u).toMatchObject({ inputTokens: 9, outputTokens: 208, reasoningTokens: 185 });
    // 9 × 2 + 208 × 12 = 18 + 2496 = 2514 micro-USD
    expect(computeCostNanoUsd(u, override)).toBe(2_514_000n);
  });

  it("Cohere: billed units, not processed tokens (12 in / 7 out billed; 507 processed)", () => {
    const u = bodyUsage("cohere", json("cohere__text__vercel-ai.json"));
    const s = streamUsage("cohere", cohereSseFromChunks(lines("cohere__text-stream__vercel-ai.chunks.txt")).join(""));
    expect(s).toEqual(u);
    expect(resolvePricing("command-a-03-2025")).toBeNull();
    // 12 × 2.50 + 7 × 10 = 30 + 70 = 100 micro-USD
    expect(computeCostNanoUsd(u, { inputPerMTok: "2.50", outputPerMTok: "10" })).toBe(100_000n);
  });

  it("Mistral, Groq and xAI recorded models resolve to null", () => {
    for (const [type, file] of [
      ["mistral", "mistral__text__vercel-ai.json"],
      ["openai-compatible", "groq__text__vercel-ai.json"],
      ["openai-compatible", "xai__chat-text__vercel-ai.json"],
    ] as const) {
      const body = json(file);
      expect(bodyUsage(type, body).inputTokens, file).toBeGreaterThan(0);
      expect(resolvePricing(body.model as string), file).toBeNull();
    }
  });
});
