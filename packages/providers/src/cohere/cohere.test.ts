import { describe, expect, it } from "vitest";
import type { ChatCompletionChunk, ChatCompletionRequest } from "@switchyard/contracts";
import { cohereSseFromChunks, loadCohereFixtures } from "@switchyard/mock-upstream/fixtures-cohere";
import { getProviderAdapter } from "../index";
import { cohereAdapter, type CohereStreamState } from "./index";

const fx = loadCohereFixtures();
const target = { baseUrl: null, apiKey: "co-key", upstreamModel: "command-a-03-2025" };

function replay(raw: string, clientWantsUsage: boolean, size: number) {
  let state: CohereStreamState = cohereAdapter.initStreamState({ clientWantsUsage, model: "public", created: 42 });
  let output = "";
  let firstContentAt = -1;
  for (let i = 0; i < raw.length; i += size) {
    const step = cohereAdapter.transformStream(state, raw.slice(i, i + size));
    state = step.state;
    output += step.output;
    if (step.firstContent && firstContentAt < 0) firstContentAt = i;
  }
  const end = cohereAdapter.finishStream(state);
  output += end.output;
  const datas = output
    .split("\n\n")
    .filter((e) => e !== "")
    .map((e) => {
      expect(e.startsWith("data: ")).toBe(true);
      return e.slice(6);
    });
  const chunks = datas.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d) as ChatCompletionChunk);
  return { state: end.state, output, chunks, lastEvent: datas.at(-1), firstContentAt };
}

function collect(chunks: ChatCompletionChunk[]) {
  let content = "";
  let reasoning = "";
  let finish: string | null = null;
  const tools = new Map<number, { id?: string; name: string; args: string }>();
  for (const c of chunks)
    for (const ch of c.choices) {
      content += ch.delta.content ?? "";
      reasoning += ch.delta.reasoning_content ?? "";
      if (ch.finish_reason) finish = ch.finish_reason;
      for (const t of ch.delta.tool_calls ?? []) {
        const cur = tools.get(t.index) ?? { name: "", args: "" };
        if (t.id) cur.id = t.id;
        cur.name += t.function?.name ?? "";
        cur.args += t.function?.arguments ?? "";
        tools.set(t.index, cur);
      }
    }
  return { content, reasoning, finish, tools: [...tools.values()] };
}

/** The recording's own text, read independently of the adapter. */
const recordedDeltas = (chunks: string[], type: string, pick: (e: unknown) => string) =>
  chunks
    .map((c) => JSON.parse(c) as { type: string })
    .filter((e) => e.type === type)
    .map(pick)
    .join("");

describe("cohere adapter: requests", () => {
  it("is registered and posts to /v2/chat with Bearer auth", () => {
    expect(getProviderAdapter("cohere")).toBe(cohereAdapter);
    const p = cohereAdapter.prepareChatRequest({ model: "m", messages: [{ role: "user", content: "hi" }] }, target);
    expect(p.http.url).toBe("https://api.cohere.com/v2/chat");
    expect(p.http.headers.authorization).toBe("Bearer co-key");
    expect(JSON.parse(p.http.body)).toEqual({ model: "command-a-03-2025", messages: [{ role: "user", content: "hi" }] });
  });

  it("translates every turn kind, tools, images and sampling parameters", () => {
    const request: ChatCompletionRequest = {
      model: "m",
      messages: [
        { role: "developer", content: [{ type: "text", text: "Be brief." }] },
        { role: "user", content: [{ type: "text", text: "What is here?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } }] },
        { role: "assistant", content: null, refusal: null, tool_calls: [{ id: "weather_1", type: "function", function: { name: "weather", arguments: '{"location":"SF"}' } }] },
        { role: "tool", tool_call_id: "weather_1", content: "sunny" },
        { role: "assistant", content: "It is sunny." },
      ],
      tools: [{ type: "function", function: { name: "weather", description: "w", parameters: { type: "object", properties: { location: { type: "string" } } }, strict: true } }],
      tool_choice: "required",
      temperature: 0.3,
      top_p: 0.8,
      max_completion_tokens: 50,
      stop: "END",
      seed: 9,
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
      response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object", properties: { a: { type: "string" } } } } },
      stream: true,
      stream_options: { include_usage: true },
      user: "u-1",
      logprobs: true,
      n: 1,
    };
    const p = cohereAdapter.prepareChatRequest(request, target);
    expect(JSON.parse(p.http.body)).toEqual({
      model: "command-a-03-2025",
      stream: true,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "What is here?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } }] },
        { role: "assistant", tool_calls: [{ id: "weather_1", type: "function", function: { name: "weather", arguments: '{"location":"SF"}' } }] },
        { role: "tool", tool_call_id: "weather_1", content: "sunny" },
        { role: "assistant", content: "It is sunny." },
      ],
      tools: [{ type: "function", function: { name: "weather", description: "w", parameters: { type: "object", properties: { location: { type: "string" } } } } }],
      tool_choice: "REQUIRED",
      temperature: 0.3,
      p: 0.8,
      max_tokens: 50,
      stop_sequences: ["END"],
      seed: 9,
      frequency_penalty: 0.1,
      presence_penalty: 0.2,
      response_format: { type: "json_object", json_schema: { type: "object", properties: { a: { type: "string" } } } },
    });
    expect(p.droppedParams.sort()).toEqual(["logprobs", "user"]);
    expect(p.clientWantsUsage).toBe(true);
  });

  it("forces a named tool by offering only it; reports what it cannot honour", () => {
    const tools = [{ type: "function", function: { name: "a" } }, { type: "function", function: { name: "b" } }];
    const named = JSON.parse(
      cohereAdapter.prepareChatRequest({ model: "m", messages: [{ role: "user", content: "x" }], tools, tool_choice: { type: "function", function: { name: "b" } } }, target).http.body,
    ) as { tools: { function: { name: string } }[]; tool_choice: string };
    expect(named.tools.map((t) => t.function.name)).toEqual(["b"]);
    expect(named.tool_choice).toBe("REQUIRED");
    const p = cohereAdapter.prepareChatRequest(
      { model: "m", messages: [{ role: "user", content: "x" }], n: 2, parallel_tool_calls: false, tool_choice: "none", response_format: { type: "json_object" } },
      target,
    );
    expect(p.droppedParams.sort()).toEqual(["n", "parallel_tool_calls"]);
    expect(JSON.parse(p.http.body)).toMatchObject({ tool_choice: "NONE", response_format: { type: "json_object" } });
  });

  it("refuses inputs it cannot carry (audio parts, the legacy function role) with a 400 naming them", () => {
    const audio = { model: "m", messages: [{ role: "user" as const, content: [{ type: "text", text: "hi" }, { type: "input_audio", input_audio: {} }] }] };
    expect(() => cohereAdapter.prepareChatRequest(audio, target)).toThrow(expect.objectContaining({ status: 400, param: "messages[0].content[1]" }) as Error);
    const fn = { model: "m", messages: [{ role: "function" as const, name: "f", content: "{}" }] };
    expect(() => cohereAdapter.prepareChatRequest(fn, target)).toThrow(/legacy "function" role/);
  });
});

describe("cohere adapter: recorded replies", () => {
  it("translates the text reply; usage is what Cohere bills", () => {
    const body = JSON.parse(fx.text) as unknown;
    const out = cohereAdapter.translateChatResponse(body, { model: "public" });
    expect(out).toMatchObject({ id: "e7592632-1e3d-424f-b129-bd5f9f980f7b", object: "chat.completion", model: "public" });
    expect(out?.choices).toEqual([{ index: 0, message: { role: "assistant", content: "The capital of France is Paris." }, finish_reason: "stop", logprobs: null }]);
    expect(out?.usage).toEqual({ prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 } });
    expect(cohereAdapter.extractChatUsage(body)).toEqual({ inputTokens: 12, outputTokens: 7, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
  });

  it("translates parallel tool calls; tool_plan becomes reasoning_content", () => {
    const out = cohereAdapter.translateChatResponse(JSON.parse(fx.toolCall), { model: "public" });
    expect(out?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(out?.choices[0]?.message).toEqual({
      role: "assistant",
      content: null,
      reasoning_content:
        "I will use the weather tool to find out the weather in San Francisco. I will also use the cityAttractions tool to find out what attractions are in San Francisco.",
      tool_calls: [
        { id: "weather_dqgshstja6p9", type: "function", function: { name: "weather", arguments: '{"location":"San Francisco"}' } },
        { id: "cityAttractions_dcxfx4myvx68", type: "function", function: { name: "cityAttractions", arguments: '{"city":"San Francisco"}' } },
      ],
    });
    expect(out?.usage).toMatchObject({ prompt_tokens: 119, completion_tokens: 52 });
  });

  it("falls back to processed tokens (with cached tokens) when billed units are missing", () => {
    expect(cohereAdapter.extractChatUsage({ usage: { tokens: { input_tokens: 507, output_tokens: 10 }, cached_tokens: 448 } })).toMatchObject({
      inputTokens: 507,
      outputTokens: 10,
      cachedInputTokens: 448,
    });
    expect(cohereAdapter.extractChatUsage({ usage: {} })).toBeNull();
    expect(cohereAdapter.translateChatResponse({ nope: 1 }, { model: "p" })).toBeNull();
  });

  it("maps every finish reason", () => {
    const reasons = ["COMPLETE", "STOP_SEQUENCE", "MAX_TOKENS", "TOOL_CALL", "ERROR_TOXIC", "ERROR_LIMIT", "ERROR", "TIMEOUT"];
    const got = reasons.map((r) => cohereAdapter.translateChatResponse({ message: { content: [] }, finish_reason: r }, { model: "p" })?.choices[0]?.finish_reason);
    expect(got).toEqual(["stop", "stop", "length", "tool_calls", "content_filter", "length", null, null]);
  });
});

describe("cohere adapter: streams from recordings", () => {
  const textSse = cohereSseFromChunks(fx.textStreamChunks).join("");
  const toolSse = cohereSseFromChunks(fx.toolCallStreamChunks).join("");

  for (const size of [1, 9, 100, 1_000_000]) {
    it(`translates the text stream into OpenAI chunks (pieces of ${size})`, () => {
      const r = replay(textSse, true, size);
      const got = collect(r.chunks);
      expect(got.content).toBe("The capital of France is Paris.");
      expect(got.content).toBe(recordedDeltas(fx.textStreamChunks, "content-delta", (e) => (e as { delta: { message: { content: { text: string } } } }).delta.message.content.text));
      expect(got.finish).toBe("stop");
      expect(r.chunks[0]).toEqual({ id: "321d178c-2c12-44d3-ae42-2f5510f6b1cc", object: "chat.completion.chunk", created: 42, model: "public", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
      expect(r.chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 } });
      expect(r.lastEvent).toBe("[DONE]");
      expect(r.state.usage).toEqual({ inputTokens: 12, outputTokens: 7, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
      expect(cohereAdapter.streamCompleted(r.state)).toBe(true);
      expect(r.firstContentAt).toBeGreaterThanOrEqual(textSse.indexOf('"text":"The"') - size);
    });

    it(`translates the streamed parallel tool calls with dense indices (pieces of ${size})`, () => {
      const r = replay(toolSse, false, size);
      const got = collect(r.chunks);
      expect(got.tools).toEqual([
        { id: "weather_e8p4pn45zt0t", name: "weather", args: '{"location": "San Francisco"}' },
        { id: "cityAttractions_pyxssbwnq9fq", name: "cityAttractions", args: '{"city": "San Francisco"}' },
      ]);
      expect(got.reasoning).toBe(recordedDeltas(fx.toolCallStreamChunks, "tool-plan-delta", (e) => (e as { delta: { message: { tool_plan: string } } }).delta.message.tool_plan));
      expect(got.content).toBe("");
      expect(got.finish).toBe("tool_calls");
      expect(r.chunks.some((c) => c.usage)).toBe(false); // the client did not ask
      expect(r.state.usage).toMatchObject({ inputTokens: 119, outputTokens: 44 });
    });
  }

  it("reads bare JSON lines too, and a cut stream is incomplete", () => {
    const ndjson = fx.textStreamChunks.join("\n");
    expect(collect(replay(ndjson, false, 17).chunks).content).toBe("The capital of France is Paris.");
    const cut = replay(textSse.slice(0, textSse.indexOf("message-end")), true, 50);
    expect(cohereAdapter.streamCompleted(cut.state)).toBe(false);
    expect(cohereAdapter.streamUsage(cut.state)).toBeNull();
  });

  it("maps thinking content blocks to reasoning_content", () => {
    const events = [
      { type: "content-start", index: 0, delta: { message: { content: { type: "thinking", thinking: "" } } } },
      { type: "content-delta", index: 0, delta: { message: { content: { thinking: "Let me see." } } } },
      { type: "content-start", index: 1, delta: { message: { content: { type: "text", text: "" } } } },
      { type: "content-delta", index: 1, delta: { message: { content: { text: "Yes." } } } },
    ];
    const got = collect(replay(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(""), false, 10).chunks);
    expect(got).toMatchObject({ reasoning: "Let me see.", content: "Yes." });
  });
});

describe("cohere adapter: errors", () => {
  it("reads the recorded {id, message} 404", () => {
    expect(fx.error404.status).toBe(404);
    const e = cohereAdapter.classifyError(fx.error404.status, fx.error404.body);
    expect(e).toMatchObject({ kind: "not_found", clientStatus: 404, retryable: false });
    expect(e.message).toContain("model 'nonexistent' not found");
  });
  it("maps Cohere's statuses and token-limit refusals", () => {
    const tooMany = '{"id":"x","message":"too many tokens: total number of tokens in the prompt cannot exceed 4081 - received 4292."}';
    expect(cohereAdapter.classifyError(400, tooMany)).toMatchObject({ kind: "context_length_exceeded" });
    expect(cohereAdapter.classifyError(429, '{"id":"x","message":"trial key limit"}')).toMatchObject({ kind: "rate_limited", retryable: true });
    expect(cohereAdapter.classifyError(402, "{}")).toMatchObject({ kind: "permission", clientStatus: 502 });
    expect(cohereAdapter.classifyError(498, "{}")).toMatchObject({ kind: "auth" });
    expect(cohereAdapter.classifyError(499, "{}")).toMatchObject({ kind: "server_error", retryable: true });
    expect(cohereAdapter.classifyError(500, "<html>")).toMatchObject({ kind: "server_error", message: null });
  });
});
