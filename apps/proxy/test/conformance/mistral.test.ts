/** Mistral through the proxy: OpenAI SDK in, Mistral's strict chat body out, its typed content and usage translated back. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type OpenAI from "openai";
import { loadMistralFixtures } from "@switchyard/mock-upstream/fixtures-mistral";
import { collectOpenAiStream, setupConformance, UPSTREAM_KEY, type Conformance } from "./harness";

let c: Conformance;
beforeAll(async () => {
  c = await setupConformance({
    mock: "mistral",
    providerType: "mistral",
    redisDb: 10,
    models: [
      { name: "mistral-small", upstreamModel: "mistral-small-latest", pricing: { inputPerMTok: "0.10", outputPerMTok: "0.30" } },
      { name: "magistral", upstreamModel: "magistral-medium-latest" },
    ],
  });
});
afterAll(async () => c.close());

const fx = loadMistralFixtures();
type Json = Record<string, unknown>;
const lastUpstream = () => {
  const rec = c.mock.requests.at(-1);
  return { path: rec?.path, headers: rec?.headers, body: rec?.body as Json };
};
const recordedText = (JSON.parse(fx.text) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
const weatherTool = {
  type: "function" as const,
  function: { name: "weather", description: "Get the weather", parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] } },
};

/** The recorded reasoning stream's own text and thinking, read from its `data:` lines. */
function recordedReasoning() {
  let content = "";
  let thinking = "";
  for (const line of fx.reasoningStream.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    const delta = (JSON.parse(line.slice(6)) as { choices: { delta: { content?: unknown } }[] }).choices[0]?.delta.content;
    if (typeof delta === "string") content += delta;
    else if (Array.isArray(delta)) for (const p of delta as { thinking: { text: string }[] }[]) thinking += p.thinking.map((t) => t.text).join("");
  }
  return { content, thinking };
}

describe("mistral: conformance through the OpenAI SDK", () => {
  it("text: recorded reply, OpenAI names mapped, unsupported ones dropped and reported, priced", async () => {
    const { data, response } = await c.openai.chat.completions
      .create({ model: "mistral-small", messages: [{ role: "system", content: "Be creative." }, { role: "user", content: "Invent a holiday" }], max_completion_tokens: 500, seed: 7, user: "end-user-1", logprobs: false })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(recordedText);
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 13, completion_tokens: 434, total_tokens: 447 });
    expect(response.headers.get("x-switchyard-dropped-params")).toBe("user,logprobs");
    expect(response.headers.get("x-switchyard-cost-usd")).toBe("0.000131500");

    const up = lastUpstream();
    expect(up.path).toBe("/v1/chat/completions");
    expect(up.headers?.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    // The mock answers any field Mistral does not know with a 422, as Mistral does; this body passed.
    expect(up.body).toEqual({
      model: "mistral-small-latest",
      messages: [{ role: "system", content: "Be creative." }, { role: "user", content: "Invent a holiday" }],
      max_tokens: 500,
      random_seed: 7,
    });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toEqual({ inputTokens: 13, outputTokens: 434, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(ev.costNanoUsd).toBe("131500");
  });

  it("stream: thinking arrays arrive as reasoning_content, text as string content, usage on its own final chunk", async () => {
    const { data: stream, response } = await c.openai.chat.completions
      .create({ model: "magistral", messages: [{ role: "user", content: "How do I cross the street?" }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let content = "";
    let reasoning = "";
    let finish: string | null = null;
    let usage: OpenAI.Completions.CompletionUsage | null = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const ch of chunk.choices) {
        expect(ch.delta.content == null || typeof ch.delta.content === "string").toBe(true);
        content += ch.delta.content ?? "";
        reasoning += (ch.delta as { reasoning_content?: string }).reasoning_content ?? "";
        finish = ch.finish_reason ?? finish;
      }
    }
    const expected = recordedReasoning();
    expect(content).toBe(expected.content);
    expect(reasoning).toBe(expected.thinking);
    expect(reasoning.startsWith("Okay, the user is asking how to cross the street.")).toBe(true);
    expect(finish).toBe("stop");
    expect(usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 232, total_tokens: 242 });
    expect(lastUpstream().body).toEqual({ model: "magistral-medium-latest", messages: [{ role: "user", content: "How do I cross the street?" }], stream: true });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 10, outputTokens: 232 });
    expect(ev.costNanoUsd).toBeNull(); // no price configured: unpriced, never $0
  });

  it("tools: the recorded call gets the `type` OpenAI SDKs need; required → any", async () => {
    const data = await c.openai.chat.completions.create({ model: "mistral-small", messages: [{ role: "user", content: "Weather in SF?" }], tools: [weatherTool], tool_choice: "required" });
    expect(data.choices[0]?.finish_reason).toBe("tool_calls");
    expect(data.choices[0]?.message.tool_calls).toEqual([{ id: "gSIMJiOkT", type: "function", function: { name: "weather", arguments: '{"location": "San Francisco"}' } }]);
    expect(data.usage).toMatchObject({ prompt_tokens: 124, completion_tokens: 22 });
    expect(lastUpstream().body).toMatchObject({ tools: [weatherTool], tool_choice: "any" });
  });

  it("streamed tools: the whole call in one delta, indexed for the SDK, usage riding on the last chunk", async () => {
    const r = await collectOpenAiStream(
      await c.openai.chat.completions.create({ model: "mistral-small", messages: [{ role: "user", content: "Weather in SF?" }], tools: [weatherTool], stream: true, stream_options: { include_usage: true } }),
    );
    expect(r.toolCalls).toEqual([{ id: "gSIMJiOkT", name: "weather", arguments: '{"location": "San Francisco"}' }]);
    expect(r.finishReason).toBe("tool_calls");
    expect(r.usage).toMatchObject({ prompt_tokens: 124, completion_tokens: 22 });
  });

  it("image input: the image_url part reaches Mistral as recorded; cached tokens counted", async () => {
    const recordedRequest = fx.visionImageUrl[1]!.request as { messages: Json[] };
    const userTurn = recordedRequest.messages[4] as unknown as OpenAI.Chat.Completions.ChatCompletionUserMessageParam;
    const { data, response } = await c.openai.chat.completions.create({ model: "mistral-small", messages: [userTurn] }).withResponse();
    expect(data.choices[0]?.message.content).toMatch(/^The image shows a beautiful rose/);
    expect(data.usage).toMatchObject({ prompt_tokens: 273, completion_tokens: 104, prompt_tokens_details: { cached_tokens: 32 } });
    expect(lastUpstream().body.messages).toEqual([recordedRequest.messages[4]]);
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 273, outputTokens: 104, cachedInputTokens: 32 });
  });

  it("JSON mode: response_format json_schema is forwarded as Mistral takes it", async () => {
    const response_format = { type: "json_schema" as const, json_schema: { name: "holiday", schema: { type: "object", properties: { name: { type: "string" } } }, strict: true } };
    const data = await c.openai.chat.completions.create({ model: "mistral-small", messages: [{ role: "user", content: "Invent a holiday" }], response_format });
    expect(data.choices[0]?.message.content).toBe(recordedText);
    expect(lastUpstream().body.response_format).toEqual(response_format);
  });

  it("error: Mistral's 422 validation error reaches the client with its message", async () => {
    c.mock.setFault("status:422");
    try {
      await expect(c.openai.chat.completions.create({ model: "mistral-small", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
        status: 422,
        message: expect.stringContaining("body.max_completion_tokens: Extra inputs are not permitted") as unknown,
      });
    } finally {
      c.mock.setFault(null);
    }
  });
});
