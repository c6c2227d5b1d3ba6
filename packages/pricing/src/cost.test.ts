import { describe, expect, it } from "vitest";
import type { TokenUsage } from "@switchyard/contracts";
import { computeCostNanoUsd, formatNanoUsd, parseDecimalPrice } from "./cost";
import { resolvePricing } from "./prices";

const usage = (u: Partial<TokenUsage>): TokenUsage => ({
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  ...u,
});

describe("computeCostNanoUsd", () => {
  it("prices the recorded OpenAI cached-tokens reply (openai__chat-cached-tokens__helicone.json) exactly", () => {
    // usage: prompt 1248 of which cached 1152, completion 10; gpt-4o list price.
    const cost = computeCostNanoUsd(usage({ inputTokens: 1248, cachedInputTokens: 1152, outputTokens: 10 }), resolvePricing("gpt-4o-2024-08-06")!);
    // 96 × 2.50 + 1152 × 1.25 + 10 × 10.00 = 240 + 1440 + 100 micro-USD
    expect(cost).toBe(1_780_000n);
    expect(formatNanoUsd(cost)).toBe("0.001780000");
  });

  it("bills reasoning tokens at their own rate only when one is set (deepseek__tool-call-reasoning-cache__vercel-ai.json)", () => {
    const u = usage({ inputTokens: 339, cachedInputTokens: 320, outputTokens: 92, reasoningTokens: 48 });
    const base = { inputPerMTok: "0.28", cachedInputPerMTok: "0.028", outputPerMTok: "0.42" };
    // 19 × 0.28 + 320 × 0.028 + 92 × 0.42 = 5.32 + 8.96 + 38.64 micro-USD
    expect(computeCostNanoUsd(u, base)).toBe(52_920n);
    // 44 output × 0.42 + 48 reasoning × 1.00 replaces 92 × 0.42
    expect(computeCostNanoUsd(u, { ...base, reasoningPerMTok: "1.00" })).toBe(5_320n + 8_960n + 18_480n + 48_000n);
  });

  it("charges cache writes at the write rate", () => {
    const cost = computeCostNanoUsd(usage({ inputTokens: 100, cacheWriteTokens: 50, outputTokens: 0 }), {
      inputPerMTok: "3",
      outputPerMTok: "15",
      cacheWritePerMTok: "3.75",
    });
    expect(cost).toBe(50n * 3_000n + 50n * 3_750n);
  });

  it("rounds once, half up, at the end (no float drift)", () => {
    const p = { inputPerMTok: "0.0375", outputPerMTok: "0" };
    expect(computeCostNanoUsd(usage({ inputTokens: 1 }), p)).toBe(38n); // 37.5 nano
    expect(computeCostNanoUsd(usage({ inputTokens: 3 }), p)).toBe(113n); // 112.5 nano
    // 0.1 + 0.2 style sums stay exact
    expect(computeCostNanoUsd(usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 }), { inputPerMTok: "0.1", outputPerMTok: "0.2" })).toBe(
      300_000_000n,
    );
  });

  it("parses decimal prices exactly and rejects junk", () => {
    expect(parseDecimalPrice("0.15")).toBe(150_000_000_000n);
    expect(parseDecimalPrice("10")).toBe(10_000_000_000_000n);
    expect(() => parseDecimalPrice("1e-3")).toThrow();
    expect(() => parseDecimalPrice("-1")).toThrow();
  });
});

describe("resolvePricing", () => {
  it("prefers configured prices, falls back from dated names, and returns null (unpriced) when unknown", () => {
    const configured = { inputPerMTok: "9", outputPerMTok: "9" };
    expect(resolvePricing("gpt-4o", configured)).toBe(configured);
    expect(resolvePricing("gpt-4.1-nano-2025-04-14")?.inputPerMTok).toBe("0.10");
    expect(resolvePricing("my-local-llama")).toBeNull();
  });
});
