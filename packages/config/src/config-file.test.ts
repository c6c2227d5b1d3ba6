import { describe, expect, it } from "vitest";
import { ConfigFileError, parseConfigText, resolveSecretRef } from "./config-file";
import { EnvError, parseEnv, proxyEnvSchema } from "./env";

const good = `providers:
  - { id: openai-main, type: openai, baseUrl: "https://api.openai.com/v1", apiKey: "env:OPENAI_API_KEY" }
models:
  - name: gpt-4o-mini
    provider: openai-main
    pricing: { inputPerMTok: "0.15", outputPerMTok: "0.60" }
routes:
  - alias: default-chat
    targets: [ { model: gpt-4o-mini } ]
`;

function errorOf(text: string): ConfigFileError {
  try {
    parseConfigText(text);
  } catch (err) {
    if (err instanceof ConfigFileError) return err;
    throw err;
  }
  throw new Error("expected a ConfigFileError");
}

describe("switchyard.yaml loader", () => {
  it("loads a valid file", () => {
    const cfg = parseConfigText(good);
    expect(cfg.models[0]?.pricing?.inputPerMTok).toBe("0.15");
    expect(cfg.routes[0]?.strategy).toBe("fallback");
  });

  it("names the field and the line of a bad value", () => {
    const err = errorOf(good.replace('inputPerMTok: "0.15"', 'inputPerMTok: "cheap"'));
    expect(err.problems[0]).toMatchObject({ path: "models[0].pricing.inputPerMTok", line: 6 });
    expect(err.message).toContain("switchyard.yaml:6:");
    expect(err.message).toContain("models[0].pricing.inputPerMTok");
  });

  it("names an unknown provider type and a misspelled field", () => {
    const err = errorOf(good.replace("type: openai", "type: openaii").replace("provider: openai-main", "providr: openai-main"));
    const paths = err.problems.map((p) => p.path);
    expect(paths).toContain("providers[0].type");
    expect(err.problems.find((p) => p.path === "providers[0].type")?.line).toBe(2);
    expect(err.message).toMatch(/providr/);
  });

  it("reports YAML syntax errors with a line", () => {
    const err = errorOf("providers:\n  - { id: x, type: openai\nmodels: []\n");
    expect(err.problems[0]?.line).toBeGreaterThan(0);
    expect(err.message).toContain("YAML syntax error");
  });

  it("resolves env: references and leaves literals alone", () => {
    expect(resolveSecretRef("env:K", { K: "v" })).toBe("v");
    expect(resolveSecretRef("env:MISSING", {})).toBeUndefined();
    expect(resolveSecretRef("literal", {})).toBe("literal");
  });
});

describe("parseEnv", () => {
  it("applies defaults and coerces numbers", () => {
    const env = parseEnv(proxyEnvSchema, { SWITCHYARD_ENCRYPTION_KEY: "a".repeat(64), PROXY_PORT: "4100" });
    expect(env.PROXY_PORT).toBe(4100);
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:6379");
  });
  it("defaults the proxy's limits to fail-open under the sy: prefix and refuses an unknown fail mode", () => {
    const env = parseEnv(proxyEnvSchema, { SWITCHYARD_ENCRYPTION_KEY: "a".repeat(64) });
    expect(env).toMatchObject({ PROXY_LIMITS_FAIL_MODE: "open", SWITCHYARD_LIMITS_PREFIX: "sy:", PROXY_LIMITS_TIMEOUT_MS: 500 });
    expect(() => parseEnv(proxyEnvSchema, { SWITCHYARD_ENCRYPTION_KEY: "a".repeat(64), PROXY_LIMITS_FAIL_MODE: "sometimes" })).toThrow(/PROXY_LIMITS_FAIL_MODE/);
  });
  it("gathers usage events for 20 ms by default and takes 0 (one event-loop turn) up to 1000 ms", () => {
    const key = { SWITCHYARD_ENCRYPTION_KEY: "a".repeat(64) };
    expect(parseEnv(proxyEnvSchema, key).PROXY_USAGE_BATCH_WINDOW_MS).toBe(20);
    expect(parseEnv(proxyEnvSchema, { ...key, PROXY_USAGE_BATCH_WINDOW_MS: "0" }).PROXY_USAGE_BATCH_WINDOW_MS).toBe(0);
    expect(() => parseEnv(proxyEnvSchema, { ...key, PROXY_USAGE_BATCH_WINDOW_MS: "5000" })).toThrow(/PROXY_USAGE_BATCH_WINDOW_MS/);
  });
  it("stops with a message naming every bad variable", () => {
    expect(() => parseEnv(proxyEnvSchema, { PROXY_PORT: "eighty" })).toThrow(EnvError);
    try {
      parseEnv(proxyEnvSchema, { PROXY_PORT: "eighty" });
    } catch (err) {
      expect((err as Error).message).toMatch(/PROXY_PORT/);
      expect((err as Error).message).toMatch(/SWITCHYARD_ENCRYPTION_KEY/);
    }
  });
});
