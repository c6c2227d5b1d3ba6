/** Azure OpenAI through the proxy: OpenAI's wire format on Azure's URL and `api-key` auth, Azure's filter annotations kept. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFixtures } from "@switchyard/mock-upstream/fixtures";
import { loadAzureFixtures } from "@switchyard/mock-upstream/fixtures-azure";
import { collectOpenAiStream, setupConformance, UPSTREAM_KEY, type Conformance } from "./harness";

let c: Conformance;
beforeAll(async () => {
  c = await setupConformance({
    mock: "azure",
    providerType: "azure",
    redisDb: 12,
    // The credential's base is the resource root (https://NAME.openai.azure.com); the mock plays it at its root.
    models: [{ name: "gpt-4.1", upstreamModel: "gpt41-prod", pricing: { inputPerMTok: "2.00", outputPerMTok: "8.00" } }],
  });
});
afterAll(async () => c.close());

const fx = loadAzureFixtures();
const openaiFx = loadFixtures();
type Json = Record<string, unknown>;
const recorded = JSON.parse(fx.text) as { choices: (Json & { message: { content: string } })[]; prompt_filter_results: unknown };
const lastUpstream = () => {
  const rec = c.mock.requests.at(-1);
  return { path: rec?.path, query: rec?.query, headers: rec?.headers, body: rec?.body as Json };
};

/** What the recorded stream says, read straight from its `data:` lines. */
function recordedStream(raw: string) {
  let text = "";
  const args = new Map<number, string>();
  for (const line of raw.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    const chunk = JSON.parse(line.slice(6)) as { choices: { delta: { content?: string | null; tool_calls?: { index: number; function?: { arguments?: string } }[] } }[] };
    for (const ch of chunk.choices) {
      text += ch.delta.content ?? "";
      for (const t of ch.delta.tool_calls ?? []) args.set(t.index, (args.get(t.index) ?? "") + (t.function?.arguments ?? ""));
    }
  }
  return { text, args: [...args.values()] };
}

describe("azure: conformance through the OpenAI SDK", () => {
  it("text: the recorded reply with its content-filter annotations, priced, sent with api-key to the deployment URL", async () => {
    const { data, response } = await c.openai.chat.completions.create({ model: "gpt-4.1", messages: [{ role: "user", content: "What should I see in Paris?" }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(recorded.choices[0]!.message.content);
    expect(data.choices[0]?.message.content).toContain("Eiffel Tower** – Go up");
    expect(data.choices[0]?.finish_reason).toBe("length");
    expect(data.usage).toMatchObject({ prompt_tokens: 18, completion_tokens: 100, total_tokens: 118 });
    expect((data.choices[0] as unknown as Json).content_filter_results).toEqual(recorded.choices[0]!.content_filter_results);
    expect((data as unknown as Json).prompt_filter_results).toEqual(recorded.prompt_filter_results);
    expect(response.headers.get("x-switchyard-cost-usd")).toBe("0.000836000");

    const up = lastUpstream();
    expect(up.path).toBe("/openai/deployments/gpt41-prod/chat/completions");
    expect(up.query).toBe("api-version=2024-10-21");
    expect(up.headers?.["api-key"]).toBe(UPSTREAM_KEY);
    expect(up.headers?.authorization).toBeUndefined();
    expect(up.body).toEqual({ model: "gpt41-prod", messages: [{ role: "user", content: "What should I see in Paris?" }] });

    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toEqual({ inputTokens: 18, outputTokens: 100, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
    expect(ev.costNanoUsd).toBe("836000");
    expect(ev.provider).toBe("azure");
  });

  it("stream: Azure's empty-id prompt-filter chunk and em dash survive the SDK; usage on the final chunk", async () => {
    const { data: stream, response } = await c.openai.chat.completions
      .create({ model: "gpt-4.1", messages: [{ role: "user", content: "Paris?" }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const r = await collectOpenAiStream(stream);
    expect(r.text).toBe(recordedStream(fx.textStream).text);
    expect(r.text).toBe("How exciting! Paris has so much to offer—here's a well-rounded experience.");
    expect(r.finishReason).toBe("length");
    expect(r.usage).toMatchObject({ prompt_tokens: 18, completion_tokens: 100 });
    expect(lastUpstream().body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    const ev = await c.usageEventFor(response.headers.get("x-request-id")!);
    expect(ev.usage).toMatchObject({ inputTokens: 18, outputTokens: 100 });
    expect(ev.costNanoUsd).toBe("836000");
  });

  it("stream without include_usage: no usage chunk for the client, usage still recorded", async () => {
    const { data: stream, response } = await c.openai.chat.completions.create({ model: "gpt-4.1", messages: [{ role: "user", content: "Paris?" }], stream: true }).withResponse();
    const r = await collectOpenAiStream(stream);
    expect(r.usage).toBeNull();
    expect(r.text).toBe("How exciting! Paris has so much to offer—here's a well-rounded experience.");
    expect((await c.usageEventFor(response.headers.get("x-request-id")!)).usage.outputTokens).toBe(100);
  });

  it("tools and streamed tools: the recorded calls, arguments exactly as sent", async () => {
    const tools = (openaiFx.toolCall[0]!.request as { tools: never[] }).tools;
    const plain = await c.openai.chat.completions.create({ model: "gpt-4.1", messages: [{ role: "user", content: "Largest city?" }], tools, tool_choice: "required" });
    const recordedCall = (JSON.parse(openaiFx.toolCall[0]!.responseBody) as { choices: { message: { tool_calls: { id: string; function: { name: string; arguments: string } }[] } }[] }).choices[0]!.message.tool_calls[0]!;
    expect(plain.choices[0]?.finish_reason).toBe("tool_calls");
    expect(plain.choices[0]?.message.tool_calls?.[0]).toMatchObject({ id: recordedCall.id, type: "function", function: recordedCall.function });
    expect(lastUpstream().body).toMatchObject({ tools, tool_choice: "required" });

    const streamed = await collectOpenAiStream(
      await c.openai.chat.completions.create({ model: "gpt-4.1", messages: [{ role: "user", content: "Capital?" }], tools, stream: true, stream_options: { include_usage: true } }),
    );
    const expected = recordedStream(openaiFx.toolCallStream[0]!.responseBody);
    expect(streamed.finishReason).toBe("tool_calls");
    expect(streamed.toolCalls.map((t) => t.arguments)).toEqual(expected.args);
    expect(streamed.toolCalls[0]?.name).toBe("get_capital");
    expect(streamed.usage).toMatchObject({ prompt_tokens: 53, completion_tokens: 15 });
  });

  it("image input and JSON mode: forwarded untouched in OpenAI's shape", async () => {
    const image = { type: "image_url" as const, image_url: { url: "https://example.com/paris.png", detail: "low" as const } };
    const data = await c.openai.chat.completions.create({
      model: "gpt-4.1",
      messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, image] }],
      response_format: { type: "json_object" },
    });
    expect(data.choices[0]?.message.content).toBe(recorded.choices[0]!.message.content);
    expect(lastUpstream().body).toEqual({
      model: "gpt41-prod",
      messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, image] }],
      response_format: { type: "json_object" },
    });
  });

  it("error: Azure's content-filter 400 reaches the client as a 400 with code content_filter", async () => {
    c.mock.setFault("status:400");
    try {
      const err = await c.openai.chat.completions.create({ model: "gpt-4.1", messages: [{ role: "user", content: "x" }] }).then(
        () => null,
        (e: unknown) => e as { status?: number; code?: string; param?: string; message: string; requestID?: string },
      );
      expect(err).toMatchObject({ status: 400, code: "content_filter", param: "prompt" });
      expect(err?.message).toContain("content management policy");
      const ev = await c.usageEventFor(err?.requestID ?? "missing");
      expect(ev.errorClass).toBe("upstream_content_filtered");
      expect(ev.status).toBe(400);
    } finally {
      c.mock.setFault(null);
    }
  });
});
