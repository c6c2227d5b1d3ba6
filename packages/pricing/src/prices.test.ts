import { describe, expect, it } from "vitest";
import { type TokenUsage, modelPricingSchema } from "@switchyard/contracts";
import { computeCostNanoUsd } from "./cost";
import { PRICE_TABLE, listPriceRegistry, priceAt, priceLookupNames, resolvePricing } from "./prices";

const usage = (u: Partial<TokenUsage>): TokenUsage => ({
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  ...u,
});

describe("priceAt (effective dates)", () => {
  it("picks the DeepSeek price in force at each moment of its history", () => {
    // before the first entry: no price (unpriced), not $0
    expect(priceAt("deepseek-chat", "2025-01-01")).toBeNull();
    expect(priceAt("deepseek-chat", "2025-03-01")?.inputPerMTok).toBe("0.27");
    // the Sept 5 change took effect at 16:00 UTC, not at midnight
    expect(priceAt("deepseek-chat", "2025-09-05T15:59:59Z")?.inputPerMTok).toBe("0.27");
    expect(priceAt("deepseek-chat", "2025-09-05T16:00:00Z")?.inputPerMTok).toBe("0.56");
    expect(priceAt("deepseek-chat", new Date("2025-09-29T00:00:00Z"))?.inputPerMTok).toBe("0.28");
    expect(priceAt("deepseek-reasoner", "2025-06-01")?.outputPerMTok).toBe("2.19");
    expect(priceAt("deepseek-reasoner", "2026-01-01")?.outputPerMTok).toBe("0.42");
  });

  it("prices the same usage differently under each period", () => {
    const u = usage({ inputTokens: 1_000_000, cachedInputTokens: 400_000, outputTokens: 100_000 });
    const cost = (at: string) => computeCostNanoUsd(u, resolvePricing("deepseek-chat", null, null, at)!);
    // 600k × 0.27 + 400k × 0.07 + 100k × 1.10 = 0.162 + 0.028 + 0.110 USD
    expect(cost("2025-06-01")).toBe(300_000_000n);
    // 600k × 0.56 + 400k × 0.07 + 100k × 1.68 = 0.336 + 0.028 + 0.168 USD
    expect(cost("2025-09-10")).toBe(532_000_000n);
    // 600k × 0.28 + 400k × 0.028 + 100k × 0.42 = 0.168 + 0.0112 + 0.042 USD
    expect(cost("2025-12-01")).toBe(221_200_000n);
  });

  it("rejects an invalid date instead of guessing", () => {
    expect(() => priceAt("gpt-4o", "yesterday")).toThrow();
  });
});

describe("snapshot names fall back to the family", () => {
  it.each([
    ["gpt-4o-2024-08-06", "gpt-4o"],
    ["gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"],
    ["claude-3-5-sonnet-20241022", "claude-3-5-sonnet"],
    ["claude-3-5-sonnet-latest", "claude-3-5-sonnet"],
    ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"],
    ["models/gemini-3-flash-preview", "gemini-3-flash-preview"],
  ])("%s prices as %s", (snapshot, family) => {
    expect(priceAt(snapshot)).not.toBeNull();
    expect(priceAt(snapshot)).toBe(priceAt(family));
  });

  it("strips -001 style suffixes and keeps trying shorter names", () => {
    expect(priceLookupNames("text-embedding-3-small-001")).toEqual(["text-embedding-3-small-001", "text-embedding-3-small"]);
    expect(priceAt("text-embedding-3-small-001")?.inputPerMTok).toBe("0.02");
  });

  it("does not strip into another model's name", () => {
    // gpt-4o-mini must not fall back to gpt-4o
    expect(priceAt("gpt-4o-mini-2024-07-18")?.inputPerMTok).toBe("0.15");
  });
});

describe("resolvePricing precedence", () => {
  const configured = { inputPerMTok: "9", outputPerMTok: "9" };
  const override = { inputPerMTok: "1.5", outputPerMTok: "2.5", cachedInputPerMTok: "0.5" };

  it("override beats configured beats registry", () => {
    expect(resolvePricing("gpt-4o", configured, override)).toBe(override);
    expect(resolvePricing("gpt-4o", configured, null)).toBe(configured);
    expect(resolvePricing("gpt-4o", null, null)?.inputPerMTok).toBe("2.50");
    // an override prices even a model the registry does not know
    expect(resolvePricing("my-local-llama", undefined, override)).toBe(override);
  });

  it("returns plain ModelPricing (no registry metadata) that the config schema accepts", () => {
    const p = resolvePricing("claude-haiku-4-5")!;
    expect(modelPricingSchema.parse(p)).toEqual(p);
    expect(p).toEqual({ inputPerMTok: "1", cacheWritePerMTok: "1.25", cachedInputPerMTok: "0.10", outputPerMTok: "5", batchDiscountPercent: "50" });
  });

  it("an unknown model is unpriced (null), never a $0 price", () => {
    for (const m of ["my-local-llama", "gemini-3-pro-preview", "mistral-small-latest", "command-r", "llama-3.3-70b-versatile", ""]) {
      expect(resolvePricing(m)).toBeNull();
    }
  });
});

describe("registry data", () => {
  it("every entry is valid ModelPricing with a date and an https source, and chat models have a non-zero price", () => {
    for (const e of PRICE_TABLE) {
      const { provider: _p, model: _m, effectiveFrom, source, ...pricing } = e;
      expect(modelPricingSchema.safeParse(pricing).success, e.model).toBe(true);
      expect(Number.isNaN(Date.parse(effectiveFrom)), e.model).toBe(false);
      expect(source, e.model).toMatch(/^https:\/\//);
      expect(pricing.inputPerMTok, e.model).not.toMatch(/^0(\.0*)?$/);
      if (!e.model.includes("embedding")) expect(pricing.outputPerMTok, e.model).not.toMatch(/^0(\.0*)?$/);
    }
  });

  it("has no two entries for one model with the same effective date", () => {
    const keys = PRICE_TABLE.map((e) => `${e.model}@${Date.parse(e.effectiveFrom)}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("listPriceRegistry lists every entry, sorted, with exactly one current entry per model", () => {
    const rows = listPriceRegistry("2026-11-30");
    expect(rows).toHaveLength(PRICE_TABLE.length);
    const chat = rows.filter((r) => r.model === "deepseek-chat");
    expect(chat.map((r) => [r.effectiveFrom, r.current])).toEqual([
      ["2025-09-29", true],
      ["2025-09-05T16:00:00Z", false],
      ["2025-02-08T16:00:00Z", false],
    ]);
    const providers = rows.map((r) => r.provider);
    expect(providers).toEqual([...providers].sort());
    for (const model of new Set(rows.map((r) => r.model))) {
      expect(rows.filter((r) => r.model === model && r.current), model).toHaveLength(1);
    }
    const opus = rows.find((r) => r.model === "claude-3-opus")!;
    expect(opus).toMatchObject({ provider: "anthropic", source: "https://platform.claude.com/docs/en/about-claude/pricing", effectiveFrom: "2024-03-04" });
    expect(opus.prices).toEqual({ inputPerMTok: "15", cacheWritePerMTok: "18.75", cachedInputPerMTok: "1.50", outputPerMTok: "75", batchDiscountPercent: "50" });
  });
});

describe("per-image and batch pricing", () => {
  it("adds per-image charges and takes the batch discount off every line, rounding once", () => {
    const p = { inputPerMTok: "2.50", outputPerMTok: "10", perImage: "0.04", batchDiscountPercent: "50" };
    const u = usage({ inputTokens: 1000, outputTokens: 100 });
    // 1000 × 2.50 + 100 × 10 = 3500 micro-USD; 2 images × $0.04 = 80000 micro-USD
    expect(computeCostNanoUsd(u, p, { images: 2 })).toBe(83_500_000n);
    expect(computeCostNanoUsd(u, p, { images: 2, batch: true })).toBe(41_750_000n);
    // no per-image price: images are not billed (they are tokens then)
    expect(computeCostNanoUsd(u, { inputPerMTok: "2.50", outputPerMTok: "10" }, { images: 2 })).toBe(3_500_000n);
    // batch with no discount on file: full price
    expect(computeCostNanoUsd(u, { inputPerMTok: "2.50", outputPerMTok: "10" }, { batch: true })).toBe(3_500_000n);
    // 33.333…% off 1 token at 0.0375: 37.5 × 0.66666 = 25.0002… → 25
    expect(computeCostNanoUsd(usage({ inputTokens: 1 }), { inputPerMTok: "0.0375", outputPerMTok: "0", batchDiscountPercent: "33.333333333333" }, { batch: true })).toBe(25n);
  });

  it("the config schema accepts perImage and batchDiscountPercent and refuses a discount over 100%", () => {
    expect(modelPricingSchema.parse({ inputPerMTok: "1", outputPerMTok: "2", perImage: 0.04, batchDiscountPercent: "50" })).toEqual({
      inputPerMTok: "1",
      outputPerMTok: "2",
      perImage: "0.04",
      batchDiscountPercent: "50",
    });
    expect(modelPricingSchema.safeParse({ inputPerMTok: "1", outputPerMTok: "2", batchDiscountPercent: "150" }).success).toBe(false);
  });
});
