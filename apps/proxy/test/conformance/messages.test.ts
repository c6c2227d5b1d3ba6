/**
 * Inbound Anthropic Messages API (POST /v1/messages) through the official Anthropic SDK,
 * carried to an OpenAI provider (the mock replays recorded OpenAI payloads): what the
 * SDK parses must be exactly what the provider sent, in Anthropic's format.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Anthropic from "@anthropic-ai/sdk";
import { computeCostNanoUsd, formatNanoUsd } from "@switchyard/pricing";
import { loadFixtures } from "@switchyard/mock-upstream";
import { setupConformance, UPSTREAM_KEY, type Conformance } from "./harness";

const pricing = { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075" };
let c: Conformance;
beforeAll(async () => {
  c = await setupConformance({
    mock: "openai",
    providerType: "openai",
    suite: "messages",
    redisDb: 13,
    models: [{ name: "gpt-4o-mini", upstreamModel: "gpt-4o-mini-2024-07-18", pricing }],
  });
});
afterAll(async () => c.close());

const fx = loadFixtures();
const recordedText = (JSON.parse(fx.chatText) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
const lastUpstreamBody = () => c.mock.requests.at(-1)?.body as Record<string, unknown>;

const recordedToolTurns = fx.toolCall.map((t) => t.request as { messages: unknown[]; tools: { function: { name: string; description: string; parameters: Record<string, unknown> } }[] });
const tools: Anthropic.Tool[] = recordedToolTurns[0]!.tools.map((t) => ({
  name: t.function.name,
  description: t.function.description,
  input_schema: t.function.parameters as Anthropic.Tool.InputSchema,
}));

describe("messages: Anthropic SDK → /v1/messages → OpenAI provider", () => {
  it("text: content, stop reason, usage and cost exactly as recorded", async () => {
    const { data, response } = await c.anthropic.messages
      .create({ model: "gpt-4o-mini", max_tokens: 512, system: "Be festive.", messages: [{ role: "user", content: "Invent a holiday." }] })
      .withResponse();
    expect(data.type).toBe("message");
    expect(data.role).toBe("assistant");
    expect(data.model).toBe("gpt-4o-mini");
    expect(data.content).toEqual([{ type: "text", text: recordedText }]);
    expect(data.stop_reason).toBe("end_turn");
    expect(data.usage).toEqual({ input_tokens: 16, output_tokens: 363, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });

    // What went upstream: OpenAI's format, the provider key, the upstream model name.
    const sent = c.mock.requests.at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent.headers["x-api-key"]).toBeUndefined();
    expect(sent.body).toEqual({
      model: "gpt-4o-mini-2024-07-18",
      max_completion_tokens: 512,
      messages: [
        { role: "system", content: "Be festive." },
        { role: "user", content: "Invent a holiday." },
      ],
    });

    const requestId = response.headers.get("x-request-id")!;
    expect(response.headers.get("request-id")).toBe(requestId);
    const ev = await c.usageEventFor(requestId);
    const usage = { inputTokens: 16, outputTokens: 363, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 };
    expect(ev).toMatchObject({ endpoint: "messages", requestedModel: "gpt-4o-mini", servedModel: "gpt-4o-mini", provider: "openai", stream: false, status: 200, usage });
    const cost = computeCostNanoUsd(usage, pricing);
    expect(ev.costNanoUsd).toBe(cost.toString());
    expect(response.headers.get("x-switchyard-cost-usd")).toBe(formatNanoUsd(cost));
  });

  it("cached prompt tokens are reported apart, as Anthropic does", async () => {
    c.mock.setScenario("cached-tokens");
    try {
      const { data, response } = await c.anthropic.messages
        .create({ model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: "hi" }] })
        .withResponse();
      expect(data.content).toEqual([{ type: "text", text: "Hello! How can I assist you today?" }]);
      expect(data.usage).toEqual({ input_tokens: 96, output_tokens: 10, cache_read_input_tokens: 1152, cache_creation_input_tokens: 0 });
      const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
      expect(ev.usage).toMatchObject({ inputTokens: 1248, cachedInputTokens: 1152, outputTokens: 10 });
    } finally {
      c.mock.setScenario(null);
    }
  });

  it("stream: the SDK's stream helper assembles the recorded text and usage", async () => {
    const stream = c.anthropic.messages.stream({ model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
    let streamed = "";
    stream.on("text", (delta) => (streamed += delta));
    const message = await stream.finalMessage();
    expect(streamed).toBe("Hello! How can I assist you today?");
    expect(message.content).toEqual([{ type: "text", text: "Hello! How can I assist you today?" }]);
    expect(message.stop_reason).toBe("end_turn");
    expect(message.model).toBe("gpt-4o-mini");
    expect(message.usage).toMatchObject({ input_tokens: 1248, output_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(lastUpstreamBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const { response } = await stream.withResponse();
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev).toMatchObject({ endpoint: "messages", stream: true, status: 200, usage: { inputTokens: 1248, outputTokens: 10 } });
    expect(ev.ttftMs).not.toBeNull();
  });

  it("stream: raw events come in Anthropic's order", async () => {
    const events = await c.anthropic.messages.create({ model: "gpt-4o-mini", max_tokens: 64, stream: true, messages: [{ role: "user", content: "hi" }] });
    const types: string[] = [];
    let text = "";
    for await (const ev of events) {
      types.push(ev.type);
      if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
      if (ev.type === "message_delta") expect(ev).toMatchObject({ delta: { stop_reason: "end_turn" }, usage: { output_tokens: 10, input_tokens: 1248 } });
    }
    expect(text).toBe("Hello! How can I assist you today?");
    expect(types[0]).toBe("message_start");
    expect(types[1]).toBe("content_block_start");
    expect(types.slice(2, -3).every((t) => t === "content_block_delta")).toBe(true);
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
  });

  it("tools: tool_use with parsed input, then the tool result carried back as the recorded second turn", async () => {
    const first = await c.anthropic.messages.create({
      model: "gpt-4o-mini",
      max_tokens: 256,
      tools,
      tool_choice: { type: "any" },
      messages: [{ role: "user", content: "What is the largest city in the user country?" }],
    });
    expect(first.stop_reason).toBe("tool_use");
    expect(first.content).toEqual([{ type: "tool_use", id: "call_iXFttys57ap0o16JSlC8yhYo", name: "get_user_country", input: {} }]);
    expect(first.usage).toMatchObject({ input_tokens: 68, output_tokens: 12 });
    expect(lastUpstreamBody()).toMatchObject({ tool_choice: "required", tools: recordedToolTurns[0]!.tools.map((t) => ({ type: "function", function: t.function.description ? t.function : { name: t.function.name, parameters: t.function.parameters } })) });

    const second = await c.anthropic.messages.create({
      model: "gpt-4o-mini",
      max_tokens: 256,
      tools,
      tool_choice: { type: "any" },
      messages: [
        { role: "user", content: "What is the largest city in the user country?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_iXFttys57ap0o16JSlC8yhYo", content: "Mexico" }] },
      ],
    });
    // The provider saw exactly the conversation pydantic-ai recorded.
    expect(lastUpstreamBody().messages).toEqual(
      (recordedToolTurns[1]!.messages as Record<string, unknown>[]).map((m) => (m.role === "assistant" ? { content: null, ...m } : m)),
    );
    expect(second.content).toEqual([{ type: "tool_use", id: "call_gmD2oUZUzSoCkmNmp3JPUF7R", name: "final_result", input: { city: "Mexico City", country: "Mexico" } }]);
    expect(second.usage).toMatchObject({ input_tokens: 89, output_tokens: 36 });
  });

  it("streamed tools: input_json_delta reassembled by the SDK into the recorded arguments", async () => {
    const stream = c.anthropic.messages.stream({
      model: "gpt-4o-mini",
      max_tokens: 256,
      tools: [{ name: "get_capital", description: "", input_schema: { type: "object", properties: { country: { type: "string" } }, required: ["country"] } }],
      messages: [{ role: "user", content: "What is the capital of the UK? Use the tool, then answer." }],
    });
    let partial = "";
    stream.on("inputJson", (delta) => (partial += delta));
    const message = await stream.finalMessage();
    expect(partial).toBe('{"country":"UK"}');
    expect(message.content).toEqual([{ type: "tool_use", id: "call_ZR5UUuTt3pf61kjwAJIYdVMj", name: "get_capital", input: { country: "UK" } }]);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.usage).toMatchObject({ input_tokens: 53, output_tokens: 15 });
  });

  it("image input: base64 and URL images reach the provider as image_url parts", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    const data = await c.anthropic.messages.create({
      model: "gpt-4o-mini",
      max_tokens: 64,
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
            { type: "image", source: { type: "url", url: "https://example.com/kiwi.jpg" } },
            { type: "text", text: "What is in these images?" },
          ],
        },
      ],
    });
    expect(data.content).toEqual([{ type: "text", text: recordedText }]);
    expect(lastUpstreamBody().messages).toEqual([
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
          { type: "image_url", image_url: { url: "https://example.com/kiwi.jpg" } },
          { type: "text", text: "What is in these images?" },
        ],
      },
    ]);
  });

  it("parameters without an OpenAI form are dropped and named in x-switchyard-dropped-params", async () => {
    // Sampling parameters are part of Anthropic's API (older SDKs and tools send them); this SDK version's types no longer list them.
    const params = { model: "gpt-4o-mini", max_tokens: 64, temperature: 0.2, top_k: 5, stop_sequences: ["END"], metadata: { user_id: "u-7" }, messages: [{ role: "user" as const, content: "hi" }] };
    const { response } = await c.anthropic.messages.create(params).withResponse();
    expect(response.headers.get("x-switchyard-dropped-params")).toBe("top_k");
    expect(lastUpstreamBody()).toMatchObject({ temperature: 0.2, stop: ["END"], user: "u-7" });
    expect(lastUpstreamBody()).not.toHaveProperty("top_k");
  });

  it("error: the provider's 400 reaches the SDK as BadRequestError in Anthropic's shape", async () => {
    c.mock.setFault("status:400");
    try {
      const err = await c.anthropic.messages.create({ model: "gpt-4o-mini", max_tokens: 8, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      const e = err as InstanceType<typeof Anthropic.BadRequestError>;
      expect(e.status).toBe(400);
      expect(e.error).toEqual({
        type: "error",
        error: { type: "invalid_request_error", message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead." },
      });
      expect(e.requestID).toMatch(/^req_/);
    } finally {
      c.mock.setFault(null);
    }
  });

  it("error: gateway and provider failures map to the SDK's error classes and Anthropic error types", async () => {
    const call = (client: Anthropic, model = "gpt-4o-mini") =>
      client.messages.create({ model, max_tokens: 8, messages: [{ role: "user", content: "x" }] }).then(
        () => {
          throw new Error("expected an error");
        },
        (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
      );
    const badKey = await call(new Anthropic({ apiKey: "sk-sy-not-a-key", baseURL: c.proxyUrl, maxRetries: 0 }));
    expect(badKey).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(badKey.error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const unknown = await call(c.anthropic, "no-such-model");
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect(unknown.error).toMatchObject({ error: { type: "not_found_error", message: "The model 'no-such-model' does not exist." } });
    for (const [fault, cls, type, status] of [
      ["status:429", Anthropic.RateLimitError, "rate_limit_error", 429],
      ["status:503", Anthropic.InternalServerError, "overloaded_error", 503],
      ["status:500", Anthropic.InternalServerError, "api_error", 502],
    ] as const) {
      c.mock.setFault(fault);
      try {
        const e = await call(c.anthropic);
        expect(e).toBeInstanceOf(cls);
        expect(e.status).toBe(status);
        expect(e.error).toMatchObject({ type: "error", error: { type } });
      } finally {
        c.mock.setFault(null);
      }
    }
  });

  it("error: an invalid body is a 400 naming the field, in Anthropic's shape", async () => {
    const res = await fetch(`${c.proxyUrl}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": c.virtualKey, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ type: "error", error: { type: "invalid_request_error", message: "max_tokens: Invalid input: expected number, received undefined" } });
    // A declared length over the limit is refused before the body is read.
    const tooBig = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${c.proxyUrl}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": c.virtualKey, "content-type": "application/json", "content-length": String(64 * 1024 * 1024) },
      });
      req.on("response", (r) => {
        let body = "";
        r.setEncoding("utf8");
        r.on("data", (d: string) => (body += d));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.write("{");
    });
    expect(tooBig.status).toBe(413);
    expect(JSON.parse(tooBig.body)).toMatchObject({ type: "error", error: { type: "request_too_large" } });
  });

  it("error: a stream cut mid-way ends with an error event the SDK raises", async () => {
    c.mock.setFault("stream-cut");
    try {
      const stream = c.anthropic.messages.stream({ model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
      const err = await stream.finalMessage().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: "error", error: { type: "api_error" } });
      const { response } = await stream.withResponse();
      const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
      expect(ev).toMatchObject({ endpoint: "messages", stream: true, status: 502, errorClass: "upstream_stream_interrupted" });
    } finally {
      c.mock.setFault(null);
    }
  });
});
