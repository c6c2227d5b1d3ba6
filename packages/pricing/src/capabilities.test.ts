import { describe, expect, it } from "vitest";
import { modelCapabilitiesSchema } from "@switchyard/contracts";
import { CAPABILITY_TABLE, capabilitiesAt, resolveCapabilities } from "./capabilities";
import { PRICE_TABLE } from "./prices";

describe("capability registry data", () => {
  it("lists each model once, only models the price table knows, with the provider's page as source", () => {
    const priced = new Set(PRICE_TABLE.map((e) => e.model));
    const models = CAPABILITY_TABLE.map((e) => e.model);
    expect(models.length).toBeGreaterThan(0);
    expect(new Set(models).size).toBe(models.length);
    for (const e of CAPABILITY_TABLE) {
      expect(priced.has(e.model), e.model).toBe(true);
      expect(e.source, e.model).toMatch(/^https:\/\/(developers\.openai\.com|platform\.claude\.com|ai\.google\.dev|api-docs\.deepseek\.com)\//);
    }
  });

  it("every entry is a valid capabilities object that states at least one capability", () => {
    for (const { model, source: _source, ...caps } of CAPABILITY_TABLE) {
      expect(modelCapabilitiesSchema.safeParse(caps).success, model).toBe(true);
      expect(Object.keys(caps).length, model).toBeGreaterThan(0);
    }
  });
});

describe("capabilitiesAt", () => {
  it("resolves a dated snapshot (and Gemini's models/ form) to its family's entry", () => {
    const family = capabilitiesAt("claude-haiku-4-5");
    expect(family).toMatchObject({ contextWindow: 200_000, maxOutputTokens: 64_000 });
    expect(capabilitiesAt("claude-haiku-4-5-20251001")).toEqual(family);
    expect(capabilitiesAt("gpt-4.1-nano-2025-04-14")).toMatchObject({ contextWindow: 1_047_576, maxOutputTokens: 32_768 });
    expect(capabilitiesAt("models/gemini-3-flash-preview")).toMatchObject({ contextWindow: 1_048_576, tools: true });
  });

  it("returns only capability fields, without the registry's model and source", () => {
    const caps = capabilitiesAt("gpt-5-nano");
    expect(caps).not.toBeNull();
    expect(caps).not.toHaveProperty("model");
    expect(caps).not.toHaveProperty("source");
  });

  it("is null for a model the registry does not list (unknown, not 'no capabilities')", () => {
    expect(capabilitiesAt("no-such-model")).toBeNull();
    expect(capabilitiesAt("no-such-model-2025-01-01")).toBeNull();
  });
});

describe("resolveCapabilities", () => {
  it("lets configured values win over the registry's, and ignores configured undefined", () => {
    const caps = resolveCapabilities("gpt-5-nano-2025-08-07", { maxOutputTokens: 1_000, vision: false, tools: undefined });
    expect(caps).toEqual({ contextWindow: 400_000, maxOutputTokens: 1_000, tools: true, vision: false, jsonMode: true, streaming: true });
  });

  it("is {} for an unknown model without configuration, and the configuration alone with it", () => {
    expect(resolveCapabilities("no-such-model")).toEqual({});
    expect(resolveCapabilities("no-such-model", { tools: true, contextWindow: 8_192 })).toEqual({ tools: true, contextWindow: 8_192 });
  });

  it("leaves fields the registry does not know unset rather than guessing", () => {
    // The Anthropic Opus 4.5 page states sizes only.
    expect(resolveCapabilities("claude-opus-4-5")).toEqual({ contextWindow: 200_000, maxOutputTokens: 64_000 });
  });
});
