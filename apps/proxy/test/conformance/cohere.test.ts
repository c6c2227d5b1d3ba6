/** Cohere v2 through the proxy: OpenAI SDK in, /v2/chat out, Cohere's replies and event stream translated back. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type OpenAI from "openai";
import { loadCohereFixtures } from "@switchyard/mock-upstream/fixtures-cohere";
import { collectOpenAiStream, setupConformance, UPSTREAM_KEY, type Conformance } from "./harness";

let c: Conformance;
beforeAll(async () => {
  c = await setupConformance({
    mock: "cohere",
    providerType: "cohere",
    redisDb: 11,
    models: [{ name: "command-a", upstreamModel: "command-a-03-2025", pricing: { inputPerMTok: "2.50", outputPerMTok: "10.00" } }],
  });
});
afterAll(async () => c.close());

const fx = loadCohereFixtures();
type Json = Record<string, unknown>;
const lastUpstream = () => {
  const rec = c.mock.requests.at(-1);
  return { path: rec?.path, headers: rec?.headers, body: rec?.body as Json };
};
const tools = [
  { type: "function" as const, function: { name: "weather", description: "Get the weather", parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] } } },
  { type: "function" as const, function: { name: "cityAttractions", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
];
const recordedToolCall = JSON.parse(fx.toolCall) as { message: { tool_plan: string; tool_calls: { id: string; function: { name: string; arguments: string } }[] } };
/** Concatenated argument deltas per tool call index, read straight from the recorded events. */
function recordedStreamArgs(): string[] {
  const args = new Map<number, string>();
  for (const line of fx.toolCallStreamChunks) {
    const ev = JSON.parse(line) as { type: string; index?: number; delta?: { message?: { tool_calls?: { function?: { arguments?: string } } } } };
    if (ev.type === "tool-call-start" || ev.type === "tool-call-delta") args.set(ev.index ?? 0, (args.get(ev.index ?? 0) ?? "") + (ev.delta?.message?.tool_calls?.function?.arguments ?? ""));
  }
  return [...args.values()];
}

describe("cohere: conformance through the OpenAI SDK", () => {
  it("text: recorded reply, request in Cohere's names, usage is what Cohere bills", async () => {
    const { data, response } = await c.openai.chat.completions
      .create({
        model: "command-a",
        messages: [{ role: "system", content: "Answer in one sentence." }, { role: "user", content: "What is the capital of France?" }],
        temperature: 0,
        top_p: 0.9,
        max_tokens: 50,
        stop: ["\n\n"],
        user: "end-user-1",
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("The capital of France is Paris.");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.model).toBe("command-a");
    expect(data.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 });
    expect(response.headers.get("x-switchyard-dropped-params")).toBe("user");
    expect(response.headers.get("x-switchyard-cost-usd")).toBe("0.000100000");

    const up = lastUpstream();
    expect(up.path).toBe("/v2/chat");
    expect(up.headers?.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(up.body).toEqual({
      model: "command-a-03-2025",
      messages: [{ role: "system", content: "Answer in one sentence." }, { role: "user", content: "What is the capital of France?" }],
      temperature: 0,
      p: 0.9,
      max_tokens: 50,
      stop_sequences: ["\n\n"],
    });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toEqual({ inputTokens: 12, outputTokens: 7, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(ev.costNanoUsd).toBe("100000");
  });

  it("stream: Cohere's events as OpenAI chunks, finish and usage on the final chunks", async () => {
    const { data: stream, response } = await c.openai.chat.completions
      .create({ model: "command-a", messages: [{ role: "user", content: "What is the capital of France?" }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const r = await collectOpenAiStream(stream);
    expect(r.text).toBe("The capital of France is Paris.");
    expect(r.finishReason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 });
    expect(lastUpstream().body).toMatchObject({ stream: true });
    expect(lastUpstream().body.stream_options).toBeUndefined();
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 12, outputTokens: 7 });
    expect(ev.status).toBe(200);
    expect(ev.errorClass).toBeNull();
  });

  it("tools: two parallel calls, tool_plan as reasoning_content, required → REQUIRED", async () => {
    const data = await c.openai.chat.completions.create({ model: "command-a", messages: [{ role: "user", content: "Weather and attractions in SF?" }], tools, tool_choice: "required" });
    expect(data.choices[0]?.finish_reason).toBe("tool_calls");
    expect(data.choices[0]?.message.content).toBeNull();
    expect(data.choices[0]?.message.tool_calls).toEqual(recordedToolCall.message.tool_calls.map((t) => ({ id: t.id, type: "function", function: t.function })));
    expect((data.choices[0]?.message as { reasoning_content?: string }).reasoning_content).toBe(recordedToolCall.message.tool_plan);
    expect(data.usage).toMatchObject({ prompt_tokens: 119, completion_tokens: 52 });
    expect(lastUpstream().body).toMatchObject({ tools, tool_choice: "REQUIRED" });
  });

  it("tool results: assistant tool calls and tool turns in Cohere's shape", async () => {
    const call = recordedToolCall.message.tool_calls[0]!;
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: "user", content: "Weather in SF?" },
      { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: call.function }] },
      { role: "tool", tool_call_id: call.id, content: '{"temperature":18}' },
    ];
    const data = await c.openai.chat.completions.create({ model: "command-a", messages, tools });
    expect(data.choices[0]?.message.content).toBe("The capital of France is Paris.");
    expect(lastUpstream().body.messages).toEqual([
      { role: "user", content: "Weather in SF?" },
      { role: "assistant", tool_calls: [{ id: call.id, type: "function", function: call.function }] },
      { role: "tool", tool_call_id: call.id, content: '{"temperature":18}' },
    ]);
  });

  it("streamed tools: both calls with dense indices and exactly the recorded arguments", async () => {
    const r = await collectOpenAiStream(
      await c.openai.chat.completions.create({ model: "command-a", messages: [{ role: "user", content: "Weather and attractions in SF?" }], tools, stream: true, stream_options: { include_usage: true } }),
    );
    expect(r.toolCalls.map((t) => t.arguments)).toEqual(recordedStreamArgs());
    expect(r.toolCalls).toEqual([
      { id: "weather_e8p4pn45zt0t", name: "weather", arguments: '{"location": "San Francisco"}' },
      { id: "cityAttractions_pyxssbwnq9fq", name: "cityAttractions", arguments: '{"city": "San Francisco"}' },
    ]);
    expect(r.finishReason).toBe("tool_calls");
    expect(r.usage).toMatchObject({ prompt_tokens: 119, completion_tokens: 44 });
  });

  it("image input and JSON mode: image_url parts and json_schema in Cohere's format", async () => {
    const image = { type: "image_url" as const, image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "auto" as const } };
    const schema = { type: "object", properties: { capital: { type: "string" } }, required: ["capital"] };
    const data = await c.openai.chat.completions.create({
      model: "command-a",
      messages: [{ role: "user", content: [{ type: "text", text: "Which capital is this?" }, image] }],
      response_format: { type: "json_schema", json_schema: { name: "answer", schema } },
    });
    expect(data.choices[0]?.message.content).toBe("The capital of France is Paris.");
    expect(lastUpstream().body).toEqual({
      model: "command-a-03-2025",
      messages: [{ role: "user", content: [{ type: "text", text: "Which capital is this?" }, image] }],
      response_format: { type: "json_object", json_schema: schema },
    });
  });

  it("error: the recorded {id, message} 404 reaches the client as a 404 with Cohere's message", async () => {
    c.mock.setFault("status:404");
    try {
      await expect(c.openai.chat.completions.create({ model: "command-a", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
        status: 404,
        message: expect.stringContaining("model 'nonexistent' not found") as unknown,
      });
    } finally {
      c.mock.setFault(null);
    }
  });
});
