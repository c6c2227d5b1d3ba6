import { describe, expect, it } from "vitest";
import { connectionCheckErrorMessage, prepareConnectionCheck } from "./connection-check";

const KEY = "sk-test-1234";

describe("prepareConnectionCheck", () => {
  it("lists models with Bearer auth for the OpenAI family, at the default or configured base", () => {
    expect(prepareConnectionCheck("openai", { baseUrl: null, apiKey: KEY })).toEqual({
      url: "https://api.openai.com/v1/models",
      method: "GET",
      headers: { accept: "application/json", authorization: `Bearer ${KEY}` },
      body: "",
    });
    expect(prepareConnectionCheck("openai-compatible", { baseUrl: "http://127.0.0.1:8000/v1/", apiKey: null })).toEqual({
      url: "http://127.0.0.1:8000/v1/models",
      method: "GET",
      headers: { accept: "application/json" },
      body: "",
    });
    expect(prepareConnectionCheck("mistral", { baseUrl: null, apiKey: KEY })?.url).toBe("https://api.mistral.ai/v1/models");
    expect(prepareConnectionCheck("mistral", { baseUrl: null, apiKey: KEY })?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("needs a base URL where there is no default", () => {
    expect(() => prepareConnectionCheck("openai-compatible", { baseUrl: null, apiKey: KEY })).toThrow(/baseUrl/);
    expect(() => prepareConnectionCheck("azure", { baseUrl: null, apiKey: KEY })).toThrow(/baseUrl/);
  });

  it("uses Anthropic's x-api-key and anthropic-version", () => {
    const r = prepareConnectionCheck("anthropic", { baseUrl: null, apiKey: KEY });
    expect(r?.url).toBe("https://api.anthropic.com/v1/models");
    expect(r?.headers).toEqual({ accept: "application/json", "anthropic-version": "2023-06-01", "x-api-key": KEY });
    expect(r?.headers.authorization).toBeUndefined();
  });

  it("uses Gemini's x-goog-api-key, never the key in the URL", () => {
    const r = prepareConnectionCheck("gemini", { baseUrl: null, apiKey: KEY });
    expect(r?.url).toBe("https://generativelanguage.googleapis.com/v1beta/models");
    expect(r?.headers["x-goog-api-key"]).toBe(KEY);
    expect(r?.url).not.toContain(KEY);
  });

  it("checks Cohere at v1/models (list-models is a v1 endpoint) with Bearer", () => {
    const r = prepareConnectionCheck("cohere", { baseUrl: null, apiKey: KEY });
    expect(r?.url).toBe("https://api.cohere.com/v1/models");
    expect(r?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(prepareConnectionCheck("cohere", { baseUrl: "https://proxy.example/cohere", apiKey: KEY })?.url).toBe("https://proxy.example/cohere/models");
  });

  it("uses Azure's api-key header and both URL styles", () => {
    const classic = prepareConnectionCheck("azure", { baseUrl: "https://res.openai.azure.com/openai/", apiKey: KEY, apiVersion: "2025-01-01-preview" });
    expect(classic?.url).toBe("https://res.openai.azure.com/openai/models?api-version=2025-01-01-preview");
    expect(classic?.headers).toEqual({ accept: "application/json", "api-key": KEY });
    expect(prepareConnectionCheck("azure", { baseUrl: "https://res.openai.azure.com", apiKey: KEY })?.url).toBe(
      "https://res.openai.azure.com/openai/models?api-version=2024-10-21",
    );
    expect(prepareConnectionCheck("azure", { baseUrl: "https://res.openai.azure.com/openai/v1", apiKey: KEY })?.url).toBe(
      "https://res.openai.azure.com/openai/v1/models",
    );
  });

  it("returns null for an unknown type", () => {
    expect(prepareConnectionCheck("bedrock", { baseUrl: "https://x", apiKey: KEY })).toBeNull();
  });
});

describe("connectionCheckErrorMessage", () => {
  it("finds the provider's message in each error shape", () => {
    expect(connectionCheckErrorMessage(401, JSON.stringify({ error: { message: "Incorrect API key provided.", type: "invalid_request_error" } }), KEY)).toBe(
      "HTTP 401: Incorrect API key provided.",
    );
    expect(connectionCheckErrorMessage(401, JSON.stringify({ type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } }), KEY)).toBe(
      "HTTP 401: invalid x-api-key",
    );
    expect(connectionCheckErrorMessage(400, JSON.stringify([{ error: { code: 400, message: "API key not valid.", status: "INVALID_ARGUMENT" } }]), KEY)).toBe(
      "HTTP 400: API key not valid.",
    );
    expect(connectionCheckErrorMessage(401, JSON.stringify({ message: "invalid api token" }), KEY)).toBe("HTTP 401: invalid api token");
    expect(connectionCheckErrorMessage(502, "<html>Bad gateway</html>", KEY)).toBe("HTTP 502: <html>Bad gateway</html>");
    expect(connectionCheckErrorMessage(500, "", KEY)).toBe("HTTP 500");
  });

  it("never repeats the key, even when the server echoes it", () => {
    const msg = connectionCheckErrorMessage(401, JSON.stringify({ error: { message: `Key ${KEY} is revoked` } }), KEY);
    expect(msg).toBe("HTTP 401: Key [redacted] is revoked");
    expect(msg).not.toContain(KEY);
  });
});
