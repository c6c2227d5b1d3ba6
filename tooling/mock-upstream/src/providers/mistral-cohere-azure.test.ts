import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startMockUpstream, type MockUpstream } from "../index";
import { AZURE_CONTENT_FILTER_ERROR, loadAzureFixtures } from "../fixtures-azure";
import { cohereSseFromChunks, loadCohereFixtures } from "../fixtures-cohere";
import { loadMistralFixtures, mistralSseFromChunks } from "../fixtures-mistral";

const mocks: Record<"mistral" | "cohere" | "azure", MockUpstream | undefined> = { mistral: undefined, cohere: undefined, azure: undefined };
beforeAll(async () => {
  mocks.mistral = await startMockUpstream({ provider: "mistral" });
  mocks.cohere = await startMockUpstream({ provider: "cohere" });
  mocks.azure = await startMockUpstream({ provider: "azure" });
});
afterAll(async () => {
  for (const m of Object.values(mocks)) await m?.close();
});

async function call(mock: MockUpstream | undefined, path: string, body: unknown, headers: Record<string, string>) {
  const res = await request(`${mock?.url ?? ""}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return { status: res.statusCode, contentType: res.headers["content-type"], text: await res.body.text() };
}
const bearer = { authorization: "Bearer k" };
const messages = [{ role: "user", content: "hi" }];

describe("mock upstream: mistral personality", () => {
  const fx = loadMistralFixtures();
  it("wants Bearer auth and refuses fields Mistral does not know with a 422", async () => {
    expect((await call(mocks.mistral, "/chat/completions", { model: "m", messages }, {})).status).toBe(401);
    const strict = await call(mocks.mistral, "/chat/completions", { model: "m", messages, max_completion_tokens: 5, user: "u" }, bearer);
    expect(strict.status).toBe(422);
    expect(JSON.parse(strict.text)).toMatchObject({ object: "error", message: { detail: [{ type: "extra_forbidden", loc: ["body", "max_completion_tokens"] }, { loc: ["body", "user"] }] } });
  });
  it("replays text, tool call, image reply and both streams as recorded", async () => {
    expect((await call(mocks.mistral, "/chat/completions", { model: "m", messages }, bearer)).text).toBe(fx.text);
    const tools = [{ type: "function", function: { name: "weather" } }];
    expect((await call(mocks.mistral, "/chat/completions", { model: "m", messages, tools }, bearer)).text).toBe(fx.toolCall);
    const image = [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }];
    expect((await call(mocks.mistral, "/chat/completions", { model: "m", messages: image }, bearer)).text).toBe(fx.visionImageUrl[1]?.responseBody);
    const stream = await call(mocks.mistral, "/chat/completions", { model: "m", messages, stream: true }, bearer);
    expect(stream.text).toBe(fx.reasoningStream.replace(/\n+$/, "\n\n"));
    expect((await call(mocks.mistral, "/chat/completions", { model: "m", messages, tools, stream: true }, bearer)).text).toBe(mistralSseFromChunks(fx.toolCallStreamChunks));
  });
});

describe("mock upstream: cohere personality", () => {
  const fx = loadCohereFixtures();
  it("wants Bearer auth, refuses OpenAI-only fields, answers the recorded 404", async () => {
    expect((await call(mocks.cohere, "/chat", { model: "m", messages }, {})).status).toBe(401);
    const unknown = await call(mocks.cohere, "/chat", { model: "m", messages, top_p: 1 }, bearer);
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.text)).toMatchObject({ message: expect.stringContaining("top_p") as unknown });
    const notFound = await call(mocks.cohere, "/chat", { model: "m", messages }, { ...bearer, "x-mock-fault": "status:404" });
    expect(notFound).toMatchObject({ status: 404, text: fx.error404.body });
  });
  it("replays text and tool replies, and streams Cohere's typed events as SSE", async () => {
    expect((await call(mocks.cohere, "/chat", { model: "m", messages }, bearer)).text).toBe(fx.text);
    const tools = [{ type: "function", function: { name: "weather" } }];
    expect((await call(mocks.cohere, "/chat", { model: "m", messages, tools }, bearer)).text).toBe(fx.toolCall);
    const stream = await call(mocks.cohere, "/chat", { model: "m", messages, tools, stream: true }, bearer);
    expect(stream.contentType).toContain("text/event-stream");
    expect(stream.text).toBe(cohereSseFromChunks(fx.toolCallStreamChunks).join(""));
    expect(stream.text.startsWith("event: message-start\ndata: {")).toBe(true);
  });
});

describe("mock upstream: azure personality", () => {
  const fx = loadAzureFixtures();
  const dep = "/openai/deployments/gpt41/chat/completions";
  it("wants api-key auth and an api-version on the deployment path; the v1 path needs none", async () => {
    expect((await call(mocks.azure, `${dep}?api-version=2024-10-21`, { messages }, bearer)).status).toBe(401);
    expect((await call(mocks.azure, dep, { messages }, { "api-key": "k" })).status).toBe(404);
    expect((await call(mocks.azure, `${dep}?api-version=2024-10-21`, { messages }, { "api-key": "k" })).text).toBe(fx.text);
    expect((await call(mocks.azure, "/openai/v1/chat/completions", { model: "gpt41", messages }, { "api-key": "k" })).text).toBe(fx.text);
    const filtered = await call(mocks.azure, `${dep}?api-version=2024-10-21`, { messages }, { "api-key": "k", "x-mock-fault": "status:400" });
    expect(filtered).toMatchObject({ status: 400, text: AZURE_CONTENT_FILTER_ERROR });
  });
  it("streams the recorded Azure SSE, the usage chunk only when asked", async () => {
    const withUsage = await call(mocks.azure, `${dep}?api-version=2024-10-21`, { messages, stream: true, stream_options: { include_usage: true } }, { "api-key": "k" });
    expect(withUsage.text).toBe(`${fx.textStream}\n\n`);
    const without = await call(mocks.azure, `${dep}?api-version=2024-10-21`, { messages, stream: true }, { "api-key": "k" });
    expect(without.text).not.toContain('"prompt_tokens"');
    expect(without.text).toContain('"prompt_filter_results"');
  });
});
