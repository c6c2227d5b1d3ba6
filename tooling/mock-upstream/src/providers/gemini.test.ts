import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startMockUpstream, type MockUpstream } from "../index";
import { geminiSseFrames, loadGeminiFixtures } from "../fixtures-gemini";

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream({ provider: "gemini" });
});
afterAll(async () => mock.close());

const fx = loadGeminiFixtures();
const text = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };

async function call(path: string, body: unknown, headers: Record<string, string> = { "x-goog-api-key": "AIza-test" }) {
  const res = await request(`${mock.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return { status: res.statusCode, contentType: res.headers["content-type"], text: await res.body.text() };
}

describe("mock upstream: gemini personality", () => {
  it("authenticates with x-goog-api-key or ?key= and answers 403 PERMISSION_DENIED without", async () => {
    expect((await call("/models/gemini-2.0-flash:generateContent", text)).status).toBe(200);
    expect((await call("/models/gemini-2.0-flash:generateContent?key=AIza-test", text, {})).status).toBe(200);
    const denied = await call("/models/gemini-2.0-flash:generateContent", text, {});
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text)).toMatchObject({ error: { code: 403, status: "PERMISSION_DENIED" } });
  });

  it("replays the recorded text, tool-call and image replies byte for byte, chosen by the request", async () => {
    expect((await call("/models/gemini-3-pro-preview:generateContent", text)).text).toBe(fx.text);
    const tools = [{ functionDeclarations: [{ name: "weather" }] }];
    expect((await call("/models/gemini-3-pro-preview:generateContent", { ...text, tools })).text).toBe(fx.toolCall);
    const image = { contents: [{ role: "user", parts: [{ fileData: { fileUri: "https://x/y.png", mimeType: "image/png" } }] }] };
    expect((await call("/models/gemini-2.0-flash:generateContent", image)).text).toBe(fx.visionImageUrl.responseBody);
    const answered = { contents: [...text.contents, { role: "user", parts: [{ functionResponse: { name: "weather", response: {} } }] }], tools };
    expect((await call("/models/gemini-3-pro-preview:generateContent", answered)).text).toBe(fx.text);
    expect(mock.requests.at(-1)?.path).toBe("/v1beta/models/gemini-3-pro-preview:generateContent");
  });

  it("streams with alt=sse: the raw recorded SSE, or the JSON-line recordings with Gemini's framing", async () => {
    const raw = await call("/models/gemini-2.0-flash-exp:streamGenerateContent?alt=sse", text);
    expect(raw.contentType).toMatch(/^text\/event-stream/);
    expect(raw.text).toBe(fx.textStreamSse.responseBody);
    const tools = await call("/models/gemini-3-pro-preview:streamGenerateContent?alt=sse", { ...text, tools: [{ functionDeclarations: [{ name: "weather" }] }] });
    expect(tools.text).toBe(geminiSseFrames(fx.toolCallStreamChunks).join(""));
    mock.setScenario("thinking");
    try {
      expect((await call("/models/gemini-3-pro-preview:streamGenerateContent?alt=sse", text)).text).toBe(geminiSseFrames(fx.textStreamChunks).join(""));
    } finally {
      mock.setScenario(null);
    }
  });

  it("streams a JSON array without alt=sse, as Gemini does", async () => {
    const r = await call("/models/gemini-3-pro-preview:streamGenerateContent", { ...text, tools: [{ functionDeclarations: [{ name: "weather" }] }] });
    expect(JSON.parse(r.text)).toEqual(fx.toolCallStreamChunks.map((l) => JSON.parse(l) as unknown));
  });

  it("injected faults answer in Google's error envelope; 429 is the recorded RESOURCE_EXHAUSTED body", async () => {
    const r429 = await call("/models/gemini-2.0-flash:generateContent", text, { "x-goog-api-key": "k", "x-mock-fault": "status:429" });
    expect(r429.status).toBe(429);
    expect(r429.text).toBe(fx.error429);
    const r503 = await call("/models/gemini-2.0-flash:generateContent", text, { "x-goog-api-key": "k", "x-mock-fault": "status:503" });
    expect(JSON.parse(r503.text)).toEqual({ error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" } });
    const unknown = await call("/models/gemini-2.0-flash:countTokens", text);
    expect(unknown.status).toBe(404);
  });
});
