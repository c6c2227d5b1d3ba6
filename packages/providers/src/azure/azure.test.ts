import { describe, expect, it } from "vitest";
import type { ChatCompletionRequest } from "@switchyard/contracts";
import { expectedStreamBody } from "@switchyard/mock-upstream/fixtures";
import { AZURE_CONTENT_FILTER_ERROR, loadAzureFixtures } from "@switchyard/mock-upstream/fixtures-azure";
import { getProviderAdapter } from "../index";
import { openAiAdapter } from "../openai";
import type { ProviderAdapter } from "../types";
import { azureAdapter } from "./index";

const fx = loadAzureFixtures();
const target = { baseUrl: "https://contoso.openai.azure.com", apiKey: "azure-key", upstreamModel: "gpt-41-prod", apiVersion: null };
const hi: ChatCompletionRequest = { model: "public", messages: [{ role: "user", content: "hi" }] };

/** Feeds the stream as BYTES split every `size` bytes, decoded the way the proxy does (TextDecoder, stream mode). */
function replayBytes(raw: string, clientWantsUsage: boolean, size: number) {
  const bytes = Buffer.from(raw, "utf8");
  const decoder = new TextDecoder();
  let state = azureAdapter.initStreamState({ clientWantsUsage });
  let output = "";
  for (let i = 0; i < bytes.length; i += size) {
    const step = azureAdapter.transformStream(state, decoder.decode(bytes.subarray(i, i + size), { stream: true }));
    state = step.state;
    output += step.output;
  }
  const last = azureAdapter.transformStream(state, decoder.decode());
  const end = azureAdapter.finishStream(last.state);
  return { state: end.state, output: output + last.output + end.output };
}

describe("azure adapter: requests", () => {
  it("calls the deployment URL with the default api-version and the api-key header only", () => {
    expect(getProviderAdapter("azure")).toBe(azureAdapter);
    const p = azureAdapter.prepareChatRequest(hi, target);
    expect(p.http.url).toBe("https://contoso.openai.azure.com/openai/deployments/gpt-41-prod/chat/completions?api-version=2024-10-21");
    expect(p.http.headers["api-key"]).toBe("azure-key");
    expect(p.http.headers.authorization).toBeUndefined();
    expect(p.droppedParams).toEqual([]);
  });

  it("sends the OpenAI base's body (every field kept, usage asked for on streams)", () => {
    const request: ChatCompletionRequest = { ...hi, stream: true, user: "u", seed: 3, tools: [{ type: "function", function: { name: "f" } }] };
    const azure = azureAdapter.prepareChatRequest(request, target);
    const openai = openAiAdapter.prepareChatRequest(request, { ...target, baseUrl: null });
    expect(azure.http.body).toBe(openai.http.body);
    expect(JSON.parse(azure.http.body)).toMatchObject({ model: "gpt-41-prod", user: "u", seed: 3, stream_options: { include_usage: true } });
    expect(azure.clientWantsUsage).toBe(false);
    expect(azure.http.headers.accept).toBe("text/event-stream");
  });

  it("accepts a configured api-version, a base ending in /openai, and the v1 API base", () => {
    const v = (baseUrl: string, apiVersion: string | null = null) => azureAdapter.prepareChatRequest(hi, { ...target, baseUrl, apiVersion }).http.url;
    expect(v("https://contoso.openai.azure.com/", "2025-04-01-preview")).toBe(
      "https://contoso.openai.azure.com/openai/deployments/gpt-41-prod/chat/completions?api-version=2025-04-01-preview",
    );
    expect(v("https://contoso.openai.azure.com/openai")).toBe("https://contoso.openai.azure.com/openai/deployments/gpt-41-prod/chat/completions?api-version=2024-10-21");
    expect(v("https://contoso.openai.azure.com/openai/v1/")).toBe("https://contoso.openai.azure.com/openai/v1/chat/completions");
    expect(v("https://contoso.openai.azure.com/openai/v1", "preview")).toBe("https://contoso.openai.azure.com/openai/v1/chat/completions?api-version=preview");
    expect(() => azureAdapter.prepareChatRequest(hi, { ...target, baseUrl: null })).toThrow(/baseUrl/);
  });
});

describe("azure adapter: recorded replies", () => {
  it("forwards the reply unchanged (content_filter_results included) and reads its usage", () => {
    const body = JSON.parse(fx.text) as unknown;
    const generic: ProviderAdapter = azureAdapter;
    expect(generic.translateChatResponse(body, { model: "public" })).toBeNull();
    expect(azureAdapter.extractChatUsage(body)).toEqual({ inputTokens: 18, outputTokens: 100, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  for (const size of [1, 5, 333, 1_000_000]) {
    it(`passes the stream through byte for byte, empty-id filter chunk and em dash included (bytes split every ${size})`, () => {
      const r = replayBytes(fx.textStream, true, size);
      expect(r.output).toBe(fx.textStream);
      expect(r.output).toContain('"content":"—"');
      expect(r.output.startsWith('data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results"')).toBe(true);
      expect(r.state.usage).toEqual({ inputTokens: 18, outputTokens: 100, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
      expect(azureAdapter.streamCompleted(r.state)).toBe(true);
    });
  }

  it("keeps the prompt-filter chunk but drops the usage chunk for a client that did not ask", () => {
    const r = replayBytes(fx.textStream, false, 64);
    expect(r.output).toBe(expectedStreamBody(fx.textStream, false).replace(/\n\n$/, ""));
    expect(r.output).toContain('"prompt_filter_results"');
    expect(r.output).not.toContain('"prompt_tokens"');
    expect(azureAdapter.streamUsage(r.state)?.outputTokens).toBe(100);
  });
});

describe("azure adapter: errors", () => {
  it("classifies the content-filter 400 as content_filtered", () => {
    expect(azureAdapter.classifyError(400, AZURE_CONTENT_FILTER_ERROR)).toMatchObject({ kind: "content_filtered", clientStatus: 400, retryable: false, code: "content_filter", param: "prompt" });
    const inner = JSON.stringify({ error: { code: "BadRequest", message: "filtered", innererror: { code: "ResponsibleAIPolicyViolation" } } });
    expect(azureAdapter.classifyError(400, inner)).toMatchObject({ kind: "content_filtered" });
  });
  it("maps Azure's status-coded errors", () => {
    expect(azureAdapter.classifyError(401, '{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}}')).toMatchObject({ kind: "auth", clientStatus: 502 });
    expect(azureAdapter.classifyError(404, '{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}')).toMatchObject({ kind: "not_found", code: "DeploymentNotFound" });
    expect(azureAdapter.classifyError(429, '{"error":{"code":"429","message":"Requests have exceeded token rate limit."}}')).toMatchObject({ kind: "rate_limited", retryable: true });
    expect(azureAdapter.classifyError(400, '{"error":{"code":"context_length_exceeded","message":"This model\'s maximum context length is 8192 tokens."}}')).toMatchObject({ kind: "context_length_exceeded" });
    expect(azureAdapter.classifyError(400, '{"error":{"code":"invalid_value","message":"bad"}}')).toMatchObject({ kind: "invalid_request", clientStatus: 400 });
  });
});
