/** Google Gemini through the proxy: OpenAI SDK in, generateContent out, recorded Gemini payloads back. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { loadGeminiFixtures } from "@switchyard/mock-upstream/fixtures-gemini";
import { collectOpenAiStream, setupConformance, UPSTREAM_KEY, type Conformance } from "./harness";

let c: Conformance;
beforeAll(async () => {
  c = await setupConformance({
    mock: "gemini",
    providerType: "gemini",
    redisDb: 9,
    models: [
      { name: "gemini-pro", upstreamModel: "gemini-3-pro-preview", pricing: { inputPerMTok: "1.25", outputPerMTok: "10.00" } },
      { name: "gemini-flash", upstreamModel: "gemini-2.0-flash" },
    ],
  });
});
afterAll(async () => c.close());

const fx = loadGeminiFixtures();
type Json = Record<string, unknown>;
const lastUpstream = () => {
  const rec = c.mock.requests.at(-1);
  return { path: rec?.path, query: rec?.query, headers: rec?.headers, body: rec?.body as Json };
};
const weatherTool = {
  type: "function" as const,
  function: {
    name: "weather",
    description: "Get the weather in a location",
    parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"], additionalProperties: false },
  },
};

describe("gemini: conformance through the OpenAI SDK", () => {
  it("text: the recorded reply, thinking tokens billed as output, key sent as x-goog-api-key", async () => {
    const { data, response } = await c.openai.chat.completions
      .create({ model: "gemini-pro", messages: [{ role: "system", content: "Be exact." }, { role: "user", content: "How many r's in strawberry?" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 272, total_tokens: 281, completion_tokens_details: { reasoning_tokens: 244 } });
    expect(response.headers.get("x-switchyard-cost-usd")).toBe("0.002731250");

    const up = lastUpstream();
    expect(up.path).toBe("/v1beta/models/gemini-3-pro-preview:generateContent");
    expect(up.headers?.["x-goog-api-key"]).toBe(UPSTREAM_KEY);
    expect(up.headers?.authorization).toBeUndefined();
    expect(up.body).toEqual({ contents: [{ role: "user", parts: [{ text: "How many r's in strawberry?" }] }], systemInstruction: { parts: [{ text: "Be exact." }] } });

    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toEqual({ inputTokens: 9, outputTokens: 272, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 244 });
    expect(ev.costNanoUsd).toBe("2731250");
    expect(ev.provider).toBe("gemini");
  });

  it("stream: the raw recorded SSE as OpenAI chunks, usage on the final chunk, [DONE]", async () => {
    const { data: stream, response } = await c.openai.chat.completions
      .create({ model: "gemini-flash", messages: [{ role: "user", content: "What is the capital of France?" }], temperature: 0, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const r = await collectOpenAiStream(stream);
    expect(r.text).toBe("The capital of France is Paris.\n");
    expect(r.finishReason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 13, completion_tokens: 8, total_tokens: 21 });
    const up = lastUpstream();
    expect(up.path).toBe("/v1beta/models/gemini-2.0-flash:streamGenerateContent");
    expect(up.query).toBe("alt=sse");
    expect(up.body.generationConfig).toEqual({ temperature: 0 });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 13, outputTokens: 8 });
    expect(ev.stream).toBe(true);
    expect(ev.errorClass).toBeNull();
    expect(ev.costNanoUsd).toBeNull(); // no price configured: unpriced, never $0
  });

  it("stream without include_usage: no usage chunk for the client, usage still recorded (thinking recording)", async () => {
    c.mock.setScenario("thinking");
    try {
      const { data: stream, response } = await c.openai.chat.completions
        .create({ model: "gemini-pro", messages: [{ role: "user", content: "How many r's in strawberry?" }], stream: true })
        .withResponse();
      const r = await collectOpenAiStream(stream);
      expect(r.text).toBe('There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y');
      expect(r.usage).toBeNull();
      expect(r.finishReason).toBe("stop");
      const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
      expect(ev.usage).toEqual({ inputTokens: 9, outputTokens: 208, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 185 });
      expect(ev.costNanoUsd).toBe(String(9 * 1250 + 208 * 10_000));
    } finally {
      c.mock.setScenario(null);
    }
  });

  it("tools: the recorded function call, then its result goes back as functionResponse with the thought signature", async () => {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in San Francisco?" }];
    const first = await c.openai.chat.completions.create({ model: "gemini-pro", messages, tools: [weatherTool], tool_choice: "auto" });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls?.[0];
    expect(call?.type).toBe("function");
    expect(call?.type === "function" && call.function).toEqual({ name: "weather", arguments: '{"location":"San Francisco"}' });
    expect(first.usage).toMatchObject({ prompt_tokens: 29, completion_tokens: 908 });
    expect(lastUpstream().body).toMatchObject({
      tools: [{ functionDeclarations: [{ name: "weather", description: "Get the weather in a location", parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] } }] }],
      toolConfig: { functionCallingConfig: { mode: "AUTO" } },
    });
    // additionalProperties is outside Gemini's schema subset: stripped, not sent.
    expect(JSON.stringify(lastUpstream().body.tools)).not.toContain("additionalProperties");

    messages.push(choice.message, { role: "tool", tool_call_id: call!.id, content: '{"temperature":18,"unit":"C"}' });
    const second = await c.openai.chat.completions.create({ model: "gemini-pro", messages, tools: [weatherTool] });
    expect(second.choices[0]?.finish_reason).toBe("stop");
    const recordedCall = (JSON.parse(fx.toolCall) as { candidates: { content: { parts: { thoughtSignature: string }[] } }[] }).candidates[0]!.content.parts[0]!;
    expect(lastUpstream().body.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in San Francisco?" }] },
      { role: "model", parts: [{ functionCall: { name: "weather", args: { location: "San Francisco" } }, thoughtSignature: recordedCall.thoughtSignature }] },
      { role: "user", parts: [{ functionResponse: { name: "weather", response: { content: { temperature: 18, unit: "C" } } } }] },
    ]);
  });

  it("streamed tools: one tool call with its full arguments and id, finish tool_calls", async () => {
    const { data: stream, response } = await c.openai.chat.completions
      .create({ model: "gemini-pro", messages: [{ role: "user", content: "Weather in San Francisco?" }], tools: [weatherTool], tool_choice: "required", stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const r = await collectOpenAiStream(stream);
    expect(r.toolCalls).toEqual([{ id: "call_b36LacjwM668nsEP2tbsgQQ_0", name: "weather", arguments: '{"location":"San Francisco"}' }]);
    expect(r.finishReason).toBe("tool_calls");
    expect(r.usage).toMatchObject({ prompt_tokens: 29, completion_tokens: 60, completion_tokens_details: { reasoning_tokens: 45 } });
    expect(lastUpstream().body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 29, outputTokens: 60, reasoningTokens: 45 });
  });

  it("image input by URL: fileData with the guessed MIME type, the recorded image reply", async () => {
    const url = "https://upload.wikimedia.org/wikipedia/commons/6/6a/Www.wikipedia_screenshot_%282021%29.png";
    const data = await c.openai.chat.completions.create({
      model: "gemini-flash",
      messages: [{ role: "user", content: [{ type: "text", text: "What is the main content of this URL?" }, { type: "image_url", image_url: { url } }] }],
    });
    expect(data.choices[0]?.message.content).toBe(
      "The URL's main content is the landing page of Wikipedia, showcasing the available language editions with article counts, a search bar, and links to other Wikimedia projects.",
    );
    expect(data.usage).toMatchObject({ prompt_tokens: 2589, completion_tokens: 33 });
    // The same parts the recorded request carried (the Python SDK wrote them snake_case).
    expect(lastUpstream().body.contents).toEqual([
      { role: "user", parts: [{ text: "What is the main content of this URL?" }, { fileData: { fileUri: url, mimeType: "image/png" } }] },
    ]);
  });

  it("image input as base64: inlineData", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    const data = await c.openai.chat.completions.create({
      model: "gemini-flash",
      messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }] }],
    });
    expect(data.choices[0]?.message.content).toMatch(/^The URL's main content/);
    expect(lastUpstream().body.contents).toEqual([{ role: "user", parts: [{ text: "What is this?" }, { inlineData: { mimeType: "image/png", data: png } }] }]);
  });

  it("JSON mode: json_object and json_schema reach Gemini as responseMimeType / responseJsonSchema", async () => {
    const a = await c.openai.chat.completions.create({ model: "gemini-flash", messages: [{ role: "user", content: "JSON please" }], response_format: { type: "json_object" } });
    expect(a.choices[0]?.finish_reason).toBe("stop");
    expect(lastUpstream().body.generationConfig).toEqual({ responseMimeType: "application/json" });

    const schema = { type: "object", properties: { answer: { type: "integer" } }, required: ["answer"], additionalProperties: false };
    const b = await c.openai.chat.completions.create({
      model: "gemini-flash",
      messages: [{ role: "user", content: "JSON please" }],
      response_format: { type: "json_schema", json_schema: { name: "answer", strict: true, schema } },
      max_completion_tokens: 64,
      seed: 1,
      stop: ["\n\n"],
    });
    expect(b.choices[0]?.message.content).toBe("There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.");
    expect(lastUpstream().body.generationConfig).toEqual({ responseMimeType: "application/json", responseJsonSchema: schema, maxOutputTokens: 64, seed: 1, stopSequences: ["\n\n"] });
  });

  it("parameters Gemini cannot take are dropped and named in x-switchyard-dropped-params", async () => {
    const { response } = await c.openai.chat.completions
      .create({ model: "gemini-flash", messages: [{ role: "user", content: "hi" }], user: "end-user-1", logprobs: true, top_p: 0.5 })
      .withResponse();
    expect(response.headers.get("x-switchyard-dropped-params")).toBe("user,logprobs");
    expect(lastUpstream().body).not.toHaveProperty("user");
    expect(lastUpstream().body.generationConfig).toEqual({ topP: 0.5 });
  });

  it("errors: the recorded 429 RESOURCE_EXHAUSTED reaches the SDK as a RateLimitError with Gemini's message", async () => {
    c.mock.setFault("status:429");
    try {
      const err = await c.openai.chat.completions.create({ model: "gemini-flash", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err).toMatchObject({ status: 429, code: "RESOURCE_EXHAUSTED", message: expect.stringContaining("You exceeded your current quota, please check your plan.") as unknown });
    } finally {
      c.mock.setFault(null);
    }
  });

  it("errors: overloaded → 503, token limit → 400 context_length_exceeded, both recorded on the usage event", async () => {
    const fail = async (fault: string) => {
      c.mock.setFault(fault);
      try {
        const err = await c.openai.chat.completions.create({ model: "gemini-flash", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.APIError);
        return err as InstanceType<typeof OpenAI.APIError>;
      } finally {
        c.mock.setFault(null);
      }
    };
    const overloaded = await fail("status:503");
    expect(overloaded.status).toBe(503);
    expect(overloaded.message).toContain("The model is overloaded. Please try again later.");
    expect((await c.usageEventFor(overloaded.requestID!)).errorClass).toBe("upstream_overloaded");

    const tooLong = await fail("status:400");
    expect(tooLong).toMatchObject({ status: 400, code: "context_length_exceeded" });
    expect(tooLong.message).toContain("exceeds the maximum number of tokens allowed");
    expect((await c.usageEventFor(tooLong.requestID!)).errorClass).toBe("upstream_context_length_exceeded");
  });
});
