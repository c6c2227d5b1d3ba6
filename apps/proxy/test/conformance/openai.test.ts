/** OpenAI through the proxy: the provider's own format, forwarded and priced. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFixtures } from "@switchyard/mock-upstream";
import { collectOpenAiStream, setupConformance, UPSTREAM_KEY, type Conformance } from "./harness";

let c: Conformance;
beforeAll(async () => {
  c = await setupConformance({
    mock: "openai",
    providerType: "openai",
    redisDb: 7,
    models: [{ name: "gpt-4o-mini", upstreamModel: "gpt-4o-mini", pricing: { inputPerMTok: "0.15", outputPerMTok: "0.60" } }],
  });
});
afterAll(async () => c.close());

const fx = loadFixtures();
const recordedText = (JSON.parse(fx.chatText) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;

describe("openai: conformance through the OpenAI SDK", () => {
  it("text", async () => {
    const { data, response } = await c.openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(recordedText);
    expect(data.choices[0]?.finish_reason).toBe("stop");
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 16, outputTokens: 363 });
    expect(c.mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it("stream", async () => {
    const stream = await c.openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    const r = await collectOpenAiStream(stream);
    expect(r.text).toBe("Hello! How can I assist you today?");
    expect(r.finishReason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 1248, completion_tokens: 10 });
  });

  it("tools and streamed tools", async () => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: {} } } }];
    const plain = await c.openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "weather?" }], tools });
    expect(plain.choices[0]?.finish_reason).toBe("tool_calls");
    expect(plain.choices[0]?.message.tool_calls?.length).toBeGreaterThan(0);
    const streamed = await collectOpenAiStream(
      await c.openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "weather?" }], tools, stream: true }),
    );
    expect(streamed.finishReason).toBe("tool_calls");
    expect(streamed.toolCalls.length).toBeGreaterThan(0);
    for (const call of streamed.toolCalls) expect(() => JSON.parse(call.arguments) as unknown).not.toThrow();
  });

  it("image input and JSON mode are forwarded exactly as sent", async () => {
    const image = { type: "image_url" as const, image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" as const } };
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false };
    const { response } = await c.openai.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, image] }],
        response_format: { type: "json_schema", json_schema: { name: "a", schema, strict: true } },
      })
      .withResponse();
    expect(response.headers.get("x-switchyard-dropped-params")).toBeNull();
    const sent = c.mock.requests.at(-1)?.body as { messages: { content: unknown }[]; response_format: unknown };
    expect(sent.messages[0]?.content).toEqual([{ type: "text", text: "what is this?" }, image]);
    expect(sent.response_format).toEqual({ type: "json_schema", json_schema: { name: "a", schema, strict: true } });
  });

  it("error", async () => {
    c.mock.setFault("status:400");
    try {
      await expect(c.openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
        status: 400,
        code: "unsupported_parameter",
      });
    } finally {
      c.mock.setFault(null);
    }
  });
});
