import { describe, expect, it } from "vitest";
import { switchyardConfigSchema } from "./config-file";

describe("switchyard.yaml schema", () => {
  it("accepts the documented example and keeps prices as exact strings", () => {
    const cfg = switchyardConfigSchema.parse({
      providers: [{ id: "openai-main", type: "openai", baseUrl: "https://api.openai.com/v1", apiKey: "env:OPENAI_API_KEY" }],
      models: [{ name: "gpt-4o-mini", provider: "openai-main", upstreamModel: "gpt-4o-mini", pricing: { inputPerMTok: "0.15", outputPerMTok: 0.6 } }],
      routes: [{ alias: "default-chat", targets: [{ model: "gpt-4o-mini" }] }],
    });
    expect(cfg.models[0]?.pricing?.outputPerMTok).toBe("0.6");
    expect(cfg.routes[0]?.strategy).toBe("fallback");
  });
  it("rejects a model that names an undeclared provider", () => {
    const r = switchyardConfigSchema.safeParse({ models: [{ name: "x", provider: "nope" }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["models", 0, "provider"]);
  });
});
