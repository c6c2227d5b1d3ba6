import { describe, expect, it } from "vitest";
import { configProviderKeys, switchyardConfigSchema } from "./config-file";

describe("switchyard.yaml schema", () => {
  it("accepts the documented example and keeps prices as exact strings", () => {
    const cfg = switchyardConfigSchema.parse({
      providers: [{ id: "openai-main", type: "openai", baseUrl: "https://api.openai.com/v1", apiKey: "env:OPENAI_API_KEY" }],
      models: [{ name: "gpt-4o-mini", provider: "openai-main", upstreamModel: "gpt-4o-mini", pricing: { inputPerMTok: "0.15", outputPerMTok: 0.6 } }],
      routes: [{ alias: "default-chat", targets: [{ model: "gpt-4o-mini" }] }],
    });
    expect(cfg.models[0]?.pricing?.outputPerMTok).toBe("0.6");
    expect(cfg.routes[0]?.strategy).toBe("fallback");
    expect(cfg.routes[0]?.strict).toBe(false);
  });
  it("takes strict routes and rejects a non-boolean strict", () => {
    const base = {
      providers: [{ id: "p", type: "anthropic" }],
      models: [{ name: "m", provider: "p" }],
    };
    expect(switchyardConfigSchema.parse({ ...base, routes: [{ alias: "r", strict: true, targets: [{ model: "m" }] }] }).routes[0]?.strict).toBe(true);
    const bad = switchyardConfigSchema.safeParse({ ...base, routes: [{ alias: "r", strict: "yes", targets: [{ model: "m" }] }] });
    expect(bad.error?.issues[0]?.path).toEqual(["routes", 0, "strict"]);
  });
  it("rejects a model that names an undeclared provider", () => {
    const r = switchyardConfigSchema.safeParse({ models: [{ name: "x", provider: "nope" }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["models", 0, "provider"]);
  });
});

describe("provider keys in switchyard.yaml", () => {
  const provider = (extra: Record<string, unknown>) => ({ providers: [{ id: "p", type: "openai", ...extra }] });
  it("reads apiKey as one key labelled default and apiKeys as several", () => {
    const one = switchyardConfigSchema.parse(provider({ apiKey: "env:K" }));
    expect(configProviderKeys(one.providers[0]!)).toEqual([{ label: "default", apiKey: "env:K" }]);
    const many = switchyardConfigSchema.parse(provider({ apiKeys: [{ label: "acct-a", apiKey: "env:A" }, { label: "acct-b", apiKey: "sk-lit" }] }));
    expect(configProviderKeys(many.providers[0]!).map((k) => k.label)).toEqual(["acct-a", "acct-b"]);
    expect(configProviderKeys(switchyardConfigSchema.parse(provider({})).providers[0]!)).toEqual([]);
  });
  it("rejects apiKey together with apiKeys, duplicate labels and an empty list, naming the field", () => {
    const both = switchyardConfigSchema.safeParse(provider({ apiKey: "env:K", apiKeys: [{ label: "a", apiKey: "env:A" }] }));
    expect(both.error?.issues.map((i) => [i.path, i.message])).toEqual([[["providers", 0, "apiKeys"], "give either apiKey or apiKeys, not both"]]);
    const dup = switchyardConfigSchema.safeParse(provider({ apiKeys: [{ label: "a", apiKey: "env:A" }, { label: "a", apiKey: "env:B" }] }));
    expect(dup.error?.issues.map((i) => i.path)).toEqual([["providers", 0, "apiKeys", 1, "label"]]);
    expect(switchyardConfigSchema.safeParse(provider({ apiKeys: [] })).success).toBe(false);
    expect(switchyardConfigSchema.safeParse(provider({ apiKeys: [{ label: "bad label", apiKey: "x" }] })).success).toBe(false);
  });
});

describe("routes in switchyard.yaml", () => {
  const base = {
    providers: [{ id: "p", type: "openai" }],
    models: [
      { name: "a", provider: "p" },
      { name: "b", provider: "p" },
      { name: "emb", provider: "p" },
    ],
  };
  it("takes strategies, weights, conditions, max tokens, cache and retry options with defaults", () => {
    const cfg = switchyardConfigSchema.parse({
      ...base,
      routes: [
        { alias: "ab", strategy: "weighted", sticky: true, targets: [{ model: "a", weight: 9 }, { model: "b", weight: 1 }] },
        { alias: "tiered", strategy: "conditional", targets: [{ model: "b", when: { tags: { tier: ["gold", "platinum"] }, headers: { "x-env": "prod" } } }, { model: "a" }] },
        { alias: "cached", targets: [{ model: "a" }], maxTokens: { default: 512, cap: 2048 }, cache: { semantic: { embeddingModel: "emb" } }, retry: { maxAttempts: 2, onEmptyLength: true } },
      ],
    });
    expect(cfg.routes[0]?.sticky).toBe(true);
    expect(cfg.routes[1]?.targets[0]?.when?.tags?.tier).toEqual(["gold", "platinum"]);
    const cache = cfg.routes[2]?.cache;
    expect(cache).toEqual({ ttlSeconds: 3600, scope: "org", semantic: { embeddingModel: "emb", threshold: 0.95, maxTemperature: 0.3 } });
    expect(cfg.routes[2]?.retry).toEqual({ maxAttempts: 2, onEmptyLength: true });
  });
  it("names the field of a misplaced weight or condition, an unknown embedding model and a default above the cap", () => {
    const r = switchyardConfigSchema.safeParse({
      ...base,
      routes: [
        { alias: "x", strategy: "fallback", targets: [{ model: "a", weight: 2 }, { model: "b", when: { user: "u1" } }] },
        { alias: "y", targets: [{ model: "a" }], cache: { semantic: { embeddingModel: "nope" } }, maxTokens: { default: 900, cap: 100 } },
      ],
    });
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual([
      "routes.0.targets.0.weight",
      "routes.0.targets.1.when",
      "routes.1.cache.semantic.embeddingModel",
      "routes.1.maxTokens.default",
    ]);
  });
  it("rejects an unknown condition field and a threshold out of range", () => {
    const when = switchyardConfigSchema.safeParse({ ...base, routes: [{ alias: "x", strategy: "conditional", targets: [{ model: "a", when: { colour: "red" } }] }] });
    expect(when.success).toBe(false);
    const threshold = switchyardConfigSchema.safeParse({ ...base, routes: [{ alias: "x", targets: [{ model: "a" }], cache: { semantic: { embeddingModel: "emb", threshold: 1.5 } } }] });
    expect(threshold.error?.issues[0]?.path).toEqual(["routes", 0, "cache", "semantic", "threshold"]);
  });
});
