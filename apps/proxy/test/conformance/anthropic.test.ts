/**
 * Anthropic through the proxy: OpenAI requests translated to the Messages API, the
 * recorded Anthropic replies and event streams translated back, read by the OpenAI SDK.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { APIError, type OpenAI } from "openai";
import { loadAnthropicFixtures } from "@switchyard/mock-upstream/fixtures-anthropic";
import { collectOpenAiStream, setupConformance, UPSTREAM_KEY, type Conformance } from "./harness";

let c: Conformance;
beforeAll(async () => {
  c = await setupConformance({
    mock: "anthropic",
    providerType: "anthropic",
    redisDb: 8,
    routes: [
      { alias: "claude-lenient", targets: ["claude-sonnet"] },
      { alias: "claude-strict", targets: ["claude-sonnet"], strict: true },
    ],
    models: [
      {
        name: "claude-sonnet",
        upstreamModel: "claude-sonnet-4-5-20250929",
        // Anthropic's list price for Sonnet 4.5: cache reads 0.1×, 5-minute cache writes 1.25× the input rate.
        pricing: { inputPerMTok: "3", outputPerMTok: "15", cachedInputPerMTok: "0.30", cacheWritePerMTok: "3.75" },
      },
    ],
  });
});
afterAll(async () => c.close());
afterEach(() => {
  c.mock.setScenario(null);
  c.mock.setFault(null);
});

const fx = loadAnthropicFixtures();
type Json = Record<string, unknown>;
const model = "claude-sonnet";
const hi: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "hi" }];
const recordedText = (raw: string) =>
  (JSON.parse(raw) as { content: { type: string; text?: string }[] }).content
    .filter((b) => b.type === "text")
    .map((b) => b.text)
    .join("");
const lastUpstreamBody = () => c.mock.requests.at(-1)?.body as Json;
const weatherTool: OpenAI.Chat.ChatCompletionTool = {
  type: "function",
  function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};

/** Runs a request that must fail and returns the SDK's APIError. */
async function failure(run: () => Promise<unknown>): Promise<APIError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error("expected the request to fail");
}

describe("anthropic: conformance through the OpenAI SDK", () => {
  it("text: system + developer + multi-turn in, the recorded reply out, priced", async () => {
    const { data, response } = await c.openai.chat.completions
      .create({
        model,
        messages: [
          { role: "system", content: "Be friendly." },
          { role: "developer", content: "Keep it short." },
          { role: "user", content: "Hello" },
          { role: "assistant", content: "Hi!" },
          { role: "user", content: "How are you?" },
        ],
        temperature: 0.5,
        stop: ["END"],
        user: "end-user-1",
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(recordedText(fx.text));
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 29, total_tokens: 41 });

    const upstream = c.mock.requests.at(-1)!;
    expect(upstream.path).toBe("/v1/messages");
    expect(upstream.headers["x-api-key"]).toBe(UPSTREAM_KEY);
    expect(upstream.headers["anthropic-version"]).toBe("2023-06-01");
    expect(upstream.headers.authorization).toBeUndefined();
    expect(upstream.body).toEqual({
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 4096,
      system: [
        { type: "text", text: "Be friendly." },
        { type: "text", text: "Keep it short." },
      ],
      messages: [
        { role: "user", content: [{ type: "text", text: "Hello" }] },
        { role: "assistant", content: [{ type: "text", text: "Hi!" }] },
        { role: "user", content: [{ type: "text", text: "How are you?" }] },
      ],
      temperature: 0.5,
      stop_sequences: ["END"],
      metadata: { user_id: "end-user-1" },
    });

    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toEqual({ inputTokens: 12, outputTokens: 29, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    // 12 × $3 + 29 × $15 per million tokens = 471 micro-USD
    expect(ev.costNanoUsd).toBe("471000");
    expect(response.headers.get("x-switchyard-cost-usd")).toBe("0.000471000");
    expect(response.headers.get("x-switchyard-provider")).toBe("anthropic");
  });

  it("cache reads and writes: counted in prompt tokens and priced at their own rates", async () => {
    c.mock.setScenario("cache-read");
    const { data, response } = await c.openai.chat.completions.create({ model, messages: hi, max_tokens: 64 }).withResponse();
    expect(lastUpstreamBody().max_tokens).toBe(64);
    expect(data.choices[0]?.message.content).toBe("Hi! How can I help you today?");
    expect(data.usage).toMatchObject({ prompt_tokens: 242, completion_tokens: 12, prompt_tokens_details: { cached_tokens: 183 } });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toEqual({ inputTokens: 242, outputTokens: 12, cachedInputTokens: 183, cacheWriteTokens: 50, reasoningTokens: 0 });
    // 9 × 3 + 183 × 0.30 + 50 × 3.75 + 12 × 15 = 27 + 54.9 + 187.5 + 180 = 449.4 micro-USD
    expect(ev.costNanoUsd).toBe("449400");
  });

  it("thinking: reasoning_content beside the answer", async () => {
    c.mock.setScenario("thinking");
    const data = await c.openai.chat.completions.create({ model, messages: [{ role: "user", content: "925 / 5?" }] });
    const message = data.choices[0]?.message as OpenAI.Chat.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.content).toBe("925 ÷ 5 = 185");
    expect(message.reasoning_content).toBe("925 divided by 5 = 185");
  });

  it("stream: the recorded text deltas, finish reason and usage", async () => {
    const { data: stream, response } = await c.openai.chat.completions
      .create({ model, messages: hi, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const r = await collectOpenAiStream(stream);
    expect(r.text).toBe("Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?");
    expect(r.finishReason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 });
    expect(lastUpstreamBody()).toMatchObject({ stream: true, max_tokens: 4096 });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev).toMatchObject({ stream: true, status: 200, errorClass: null, usage: { inputTokens: 12, outputTokens: 30 }, costNanoUsd: String(12 * 3000 + 30 * 15000) });
  });

  it("stream without include_usage: no usage chunk for the client, usage still recorded", async () => {
    const { data: stream, response } = await c.openai.chat.completions.create({ model, messages: hi, stream: true }).withResponse();
    const r = await collectOpenAiStream(stream);
    expect(r.usage).toBeNull();
    expect(r.text).toContain("Hello!");
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 12, outputTokens: 30 });
  });

  it("tools: tool results carried back as tool_result blocks; the recorded tool_use read as a tool call", async () => {
    const { data, response } = await c.openai.chat.completions
      .create({
        model,
        tools: [weatherTool, { type: "function", function: { name: "updateIssueList", parameters: { type: "object", properties: {} } } }],
        tool_choice: "auto",
        parallel_tool_calls: true,
        messages: [
          { role: "user", content: "Weather in Paris and Rome, then update the issues" },
          {
            role: "assistant",
            content: "Checking both.",
            tool_calls: [
              { id: "toolu_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
              { id: "toolu_b", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: "tool", tool_call_id: "toolu_a", content: "18C" },
          { role: "tool", tool_call_id: "toolu_b", content: "24C" },
        ],
      })
      .withResponse();
    // The mock answers 400 like Anthropic unless every tool_use got its tool_result right after.
    const sent = lastUpstreamBody();
    expect(sent.tool_choice).toEqual({ type: "auto" });
    expect(sent.tools).toEqual([
      { name: "get_weather", description: "Current weather", input_schema: weatherTool.function.parameters },
      { name: "updateIssueList", input_schema: { type: "object", properties: {} } },
    ]);
    expect((sent.messages as Json[])[2]).toEqual({
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_a", content: "18C" },
        { type: "tool_result", tool_use_id: "toolu_b", content: "24C" },
      ],
    });
    const choice = data.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe(recordedText(fx.toolUse));
    expect(choice.message.tool_calls).toEqual([{ id: "toolu_01LRmxn9vGM1d2DZSDBowdZ1", type: "function", function: { name: "updateIssueList", arguments: "{}" } }]);
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 602, outputTokens: 93 });
  });

  it("streamed tools: text then a tool call at index 0, arguments assembled, cache usage priced", async () => {
    const { data: stream, response } = await c.openai.chat.completions
      .create({ model, messages: [{ role: "user", content: "What is 50+50?" }], tools: [weatherTool], tool_choice: "required", stream: true, stream_options: { include_usage: true } })
      .withResponse();
    expect(lastUpstreamBody().tool_choice).toEqual({ type: "any" });
    const r = await collectOpenAiStream(stream);
    expect(r.text).toBe("I'll help you calculate that using the calculate function.");
    expect(r.toolCalls).toEqual([{ id: "toolu_019z4x8aagZbz8K455pmuVqk", name: "calculate", arguments: '{"expression": "50+50"}' }]);
    expect(JSON.parse(r.toolCalls[0]!.arguments)).toEqual({ expression: "50+50" });
    expect(r.finishReason).toBe("tool_calls");
    expect(r.usage).toMatchObject({ prompt_tokens: 858, completion_tokens: 65, prompt_tokens_details: { cached_tokens: 500 } });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toEqual({ inputTokens: 858, outputTokens: 65, cachedInputTokens: 500, cacheWriteTokens: 20, reasoningTokens: 0 });
    // 338 × 3 + 500 × 0.30 + 20 × 3.75 + 65 × 15 = 1014 + 150 + 75 + 975 = 2214 micro-USD
    expect(ev.costNanoUsd).toBe("2214000");
  });

  it("image input: URL and base64 parts become Anthropic image sources; the recorded vision reply comes back", async () => {
    const recorded = fx.visionImageUrl.request as { messages: { content: { source?: { url: string } }[] }[] };
    const url = recorded.messages[0]!.content[1]!.source!.url;
    const data = await c.openai.chat.completions.create({
      model,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this vegetable?" },
            { type: "image_url", image_url: { url } },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
          ],
        },
      ],
    });
    expect((lastUpstreamBody().messages as Json[])[0]).toEqual({
      role: "user",
      content: [
        { type: "text", text: "What is this vegetable?" },
        { type: "image", source: { type: "url", url } },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      ],
    });
    expect(data.choices[0]?.message.content).toBe(recordedText(fx.visionImageUrl.responseBody));
    expect(data.choices[0]?.message.content).toMatch(/^This is a potato\./);
    expect(data.usage).toMatchObject({ prompt_tokens: 296, completion_tokens: 91 });
  });

  it("JSON mode: json_schema becomes a forced tool; its input comes back as the message content", async () => {
    const schema = { type: "object", properties: { elements: { type: "array" } }, required: ["elements"], additionalProperties: false };
    const plain = await c.openai.chat.completions.create({ model, messages: hi, response_format: { type: "json_schema", json_schema: { name: "weather", schema } } });
    const sent = lastUpstreamBody();
    expect(sent.tool_choice).toEqual({ type: "tool", name: "switchyard_json_response" });
    expect(sent.tools).toEqual([{ name: "switchyard_json_response", description: expect.stringContaining("JSON") as string, input_schema: schema }]);
    // The recorded tool_use input is {}: content is exactly that JSON, without the prose block before it.
    expect(plain.choices[0]?.message.content).toBe("{}");
    expect(plain.choices[0]?.message.tool_calls).toBeUndefined();
    expect(plain.choices[0]?.finish_reason).toBe("stop");

    const streamed = await collectOpenAiStream(
      await c.openai.chat.completions.create({ model, messages: hi, response_format: { type: "json_object" }, stream: true }),
    );
    expect(streamed.toolCalls).toEqual([]);
    expect(JSON.parse(streamed.text)).toEqual({ elements: [{ location: "San Francisco", temperature: 58, condition: "sunny" }] });
    expect(streamed.finishReason).toBe("stop");
  });

  it("dropped parameters are named in x-switchyard-dropped-params", async () => {
    const { response } = await c.openai.chat.completions.create({ model, messages: hi, seed: 1, frequency_penalty: 0.2, logprobs: true }).withResponse();
    expect(response.headers.get("x-switchyard-dropped-params")).toBe("seed,frequency_penalty,logprobs");
    const sent = lastUpstreamBody();
    expect(sent.seed).toBeUndefined();
    expect(sent.frequency_penalty).toBeUndefined();
  });

  it("error: the recorded 400 passes through with Anthropic's message", async () => {
    c.mock.setFault("status:400");
    const err = await failure(() => c.openai.chat.completions.create({ model, messages: hi }));
    expect(err.status).toBe(400);
    expect(err.type).toBe("invalid_request_error");
    expect(err.message).toContain("This model does not support effort level 'xhigh'");
  });

  it("errors: overloaded → 503, rate limit → 429 with retry-after, prompt too long → context_length_exceeded, bad provider key → 502", async () => {
    c.mock.setFault("status:529");
    expect(await failure(() => c.openai.chat.completions.create({ model, messages: hi }))).toMatchObject({ status: 503 });
    c.mock.setFault(null);

    c.mock.setScenario("rate-limited");
    const limited = await failure(() => c.openai.chat.completions.create({ model, messages: hi }));
    expect(limited.status).toBe(429);
    expect(limited.headers?.get("retry-after")).toBe("7");

    c.mock.setScenario("prompt-too-long");
    const long = await failure(() => c.openai.chat.completions.create({ model, messages: hi }));
    expect(long).toMatchObject({ status: 400, code: "context_length_exceeded" });
    expect(long.message).toContain("prompt is too long");
    c.mock.setScenario(null);

    c.mock.setFault("status:401");
    const auth = await failure(() => c.openai.chat.completions.create({ model, messages: hi }));
    expect(auth.status).toBe(502);
    expect(auth.message).not.toContain(UPSTREAM_KEY);
  });

  it("error mid-stream: the SDK raises Anthropic's error; the event records an interrupted stream", async () => {
    c.mock.setScenario("stream-error");
    const { data: stream, response } = await c.openai.chat.completions.create({ model, messages: hi, stream: true }).withResponse();
    let text = "";
    const err = await failure(async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    });
    expect(text).toBe("Hello! I");
    expect(err.message).toContain("Overloaded");
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev).toMatchObject({ status: 502, errorClass: "upstream_stream_interrupted", usage: { inputTokens: 12 } });
  });
});

describe("anthropic: conformance through the Anthropic SDK (/v1/messages to an Anthropic provider)", () => {
  it("text: the recorded reply comes back as an Anthropic message with its usage", async () => {
    const msg = await c.anthropic.messages.create({ model, max_tokens: 256, messages: [{ role: "user", content: "hi" }] });
    expect(msg.type).toBe("message");
    expect(msg.content.filter((b) => b.type === "text").map((b) => (b.type === "text" ? b.text : "")).join("")).toBe(recordedText(fx.text));
    expect(msg.stop_reason).toBe("end_turn");
    const recordedUsage = (JSON.parse(fx.text) as { usage: { output_tokens: number } }).usage;
    expect(msg.usage.output_tokens).toBe(recordedUsage.output_tokens);
    expect(lastUpstreamBody()).toMatchObject({ max_tokens: 256 });
  });

  it("stream: the SDK's stream helper assembles the recorded text", async () => {
    const stream = c.anthropic.messages.stream({ model, max_tokens: 256, messages: [{ role: "user", content: "hi" }] });
    const final = await stream.finalMessage();
    const text = final.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    expect(text).toBe("Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?");
    expect(final.usage.output_tokens).toBe(30);
  });
});

describe("anthropic: strict routes refuse what they would otherwise drop", () => {
  it("a strict route answers 400 naming the parameter and never calls the provider; a lenient one drops it", async () => {
    const before = c.mock.requests.length;
    const err = await failure(() => c.openai.chat.completions.create({ model: "claude-strict", messages: hi, seed: 7 }));
    expect(err.status).toBe(400);
    expect(err.message).toContain("seed");
    expect(err.message).toContain('route "claude-strict" is strict');
    expect(err.param).toBe("seed");
    expect(c.mock.requests.length).toBe(before);

    const { response } = await c.openai.chat.completions.create({ model: "claude-lenient", messages: hi, seed: 7 }).withResponse();
    expect(response.headers.get("x-switchyard-dropped-params")).toBe("seed");
    expect(lastUpstreamBody()).not.toHaveProperty("seed");
  });
});
