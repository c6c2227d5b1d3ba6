/**
 * Assembling and replaying streams, on real recorded provider streams
 * (../shared/fixtures/providers, see SOURCES.md).
 */
import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import { Stream } from "openai/streaming";
import { describe, expect, it } from "vitest";
import type { ChatCompletion } from "@switchyard/contracts";
import { loadAnthropicFixtures, splitAnthropicSse } from "@switchyard/mock-upstream/fixtures-anthropic";
import { loadFixtures, splitSseEvents } from "@switchyard/mock-upstream/fixtures";
import { anthropicAdapter, openAiAdapter, type ProviderAdapter } from "@switchyard/providers";
import { completionFromOpenAiSse, openAiSseFromCompletion } from "./sse";

const fx = loadFixtures();
/** A recording as pumpStream collects it: one string per event, each with its blank line. */
const events = (raw: string) => splitSseEvents(raw).map((e) => `${e}\n\n`);
const textStream = events(fx.chatTextStream);
const toolStream = events(fx.toolCallStream[0]?.responseBody ?? "");
const afterToolStream = events(fx.toolCallStream[1]?.responseBody ?? "");

/** Runs OpenAI SSE through an adapter's stream transform, as pumpStream does. */
function throughAdapter<S>(adapter: ProviderAdapter<S>, sse: string | readonly string[], clientWantsUsage: boolean) {
  let state = adapter.initStreamState({ clientWantsUsage, model: "public-model" });
  const produced: string[] = [];
  for (const piece of typeof sse === "string" ? [sse] : sse) {
    const step = adapter.transformStream(state, piece);
    state = step.state;
    if (step.output) produced.push(step.output);
  }
  const end = adapter.finishStream(state);
  if (end.output) produced.push(end.output);
  return { produced, completed: adapter.streamCompleted(end.state), usage: adapter.streamUsage(end.state) };
}

function assembled(sse: readonly string[]): ChatCompletion {
  const c = completionFromOpenAiSse(sse);
  if (!c) throw new Error("stream did not assemble");
  return c;
}

/** What the official OpenAI SDK assembles from a stream body. */
async function sdkAssembled(sse: string) {
  const chunks = Stream.fromSSEResponse(new Response(sse), new AbortController());
  return ChatCompletionStream.fromReadableStream(chunks.toReadableStream()).finalChatCompletion();
}

describe("completionFromOpenAiSse", () => {
  it("assembles OpenAI's recorded text stream with its usage", () => {
    const c = assembled(textStream);
    expect(c).toMatchObject({
      id: "chatcmpl-CDYHKJaUtey5GfGKB4TquZ09VuER2",
      object: "chat.completion",
      created: 1757346066,
      model: "gpt-4o-2024-08-06",
      system_fingerprint: "fp_f33640a400",
      usage: { prompt_tokens: 1248, completion_tokens: 10, total_tokens: 1258, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(c.choices).toEqual([{ index: 0, message: { role: "assistant", content: "Hello! How can I assist you today?", refusal: null }, finish_reason: "stop", logprobs: null }]);
  });

  it("assembles a recorded tool-call stream, merging the argument fragments", () => {
    const c = assembled(toolStream);
    expect(c.choices).toHaveLength(1);
    expect(c.choices[0]).toMatchObject({
      finish_reason: "tool_calls",
      message: { content: null, tool_calls: [{ id: "call_ZR5UUuTt3pf61kjwAJIYdVMj", type: "function", function: { name: "get_capital", arguments: '{"country":"UK"}' } }] },
    });
    expect(c.usage).toMatchObject({ prompt_tokens: 53, completion_tokens: 15, total_tokens: 68 });
  });

  it("gives the same answer whether the stream arrives as events or in odd slices", () => {
    const joined = fx.chatTextStream;
    const slices: string[] = [];
    for (let i = 0; i < joined.length; i += 7) slices.push(joined.slice(i, i + 7));
    expect(completionFromOpenAiSse(slices)).toEqual(assembled(textStream));
  });

  it("has no usage when the client did not ask for it (the adapter dropped the usage chunk)", () => {
    const { produced, completed } = throughAdapter(openAiAdapter, textStream, false);
    expect(completed).toBe(true);
    const c = assembled(produced);
    expect(c.usage).toBeUndefined();
    expect(c.choices[0]?.message.content).toBe("Hello! How can I assist you today?");
  });

  it("assembles Anthropic's recorded text + tool_use stream as translated by its adapter", () => {
    const { produced, completed, usage } = throughAdapter(anthropicAdapter, splitAnthropicSse(loadAnthropicFixtures().toolUseStreamSse), true);
    expect(completed).toBe(true);
    const c = assembled(produced);
    const m = c.choices[0]?.message;
    expect(c.choices[0]?.finish_reason).toBe("tool_calls");
    expect(m?.content?.length).toBeGreaterThan(0);
    expect(m?.tool_calls).toHaveLength(1);
    expect(m?.tool_calls?.[0]?.function.name).toBe("calculate");
    expect(JSON.parse(m?.tool_calls?.[0]?.function.arguments ?? "") as unknown).toEqual({ expression: "50+50" });
    expect(c.usage?.prompt_tokens).toBe(usage?.inputTokens);
    expect(c.usage?.completion_tokens).toBe(usage?.outputTokens);
  });

  describe("refuses streams that are not a whole answer", () => {
    const withoutDone = textStream.filter((e) => !e.includes("[DONE]"));
    const withoutFinish = textStream.filter((e) => !e.includes('"finish_reason":"stop"'));
    it.each([
      ["no [DONE]", withoutDone],
      ["no finish_reason", withoutFinish],
      ["cut in the middle of an event", [...textStream.slice(0, 4), textStream[4]?.slice(0, 60) ?? ""]],
      ["an unparseable chunk", [...textStream.slice(0, 3), "data: {not json\n\n", ...textStream.slice(3)]],
      ["an error frame", [...textStream.slice(0, 3), 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n', ...textStream.slice(3)]],
      ["empty", []],
      ["logprobs (not replayable)", textStream.map((e) => e.replace('"logprobs":null', '"logprobs":{"content":[]}'))],
    ])("%s", (_name, sse) => {
      expect(completionFromOpenAiSse(sse)).toBeNull();
    });
  });
});

describe("openAiSseFromCompletion", () => {
  const fixtures: [string, readonly string[]][] = [
    ["plain text", textStream],
    ["tool call", toolStream],
    ["text after a tool result", afterToolStream],
  ];

  it.each(fixtures)("round-trips the recorded %s stream: assemble → replay → assemble is the same answer", (_name, sse) => {
    const first = assembled(sse);
    for (const chunkChars of [1, 5, 32, 10_000]) {
      const replay = openAiSseFromCompletion(first, { includeUsage: true, chunkChars });
      expect(completionFromOpenAiSse([replay])).toEqual(first);
    }
  });

  it.each(fixtures)("replays the %s answer as a stream the proxy's own OpenAI stream parser accepts", (_name, sse) => {
    const first = assembled(sse);
    const replay = openAiSseFromCompletion(first, { includeUsage: true });
    const withUsage = throughAdapter(openAiAdapter, replay, true);
    expect(withUsage.completed).toBe(true);
    expect(withUsage.usage).toMatchObject({ inputTokens: first.usage?.prompt_tokens, outputTokens: first.usage?.completion_tokens });
    expect(withUsage.produced.join("")).toBe(replay);
  });

  it("appends the usage chunk only when asked, just before [DONE]", () => {
    const c = assembled(textStream);
    const frames = (s: string) => s.split("\n\n").filter((f) => f !== "");
    const withUsage = frames(openAiSseFromCompletion(c, { includeUsage: true }));
    const without = frames(openAiSseFromCompletion(c, { includeUsage: false }));
    expect(withUsage.at(-1)).toBe("data: [DONE]");
    expect(JSON.parse(withUsage.at(-2)?.slice(6) ?? "")).toMatchObject({ choices: [], usage: { prompt_tokens: 1248 } });
    expect(without).toHaveLength(withUsage.length - 1);
    expect(without.join("")).not.toContain('"usage"');
  });

  it("frames every event as data: chat.completion.chunk JSON, with the requested id and pieces of the requested size", () => {
    const c = assembled(textStream);
    const replay = openAiSseFromCompletion(c, { includeUsage: false, id: "chatcmpl-hit-1", chunkChars: 4 });
    const frames = replay.split("\n\n").filter((f) => f !== "");
    const chunks = frames.slice(0, -1).map((f) => {
      expect(f.startsWith("data: ")).toBe(true);
      return JSON.parse(f.slice(6)) as { id: string; object: string; model: string; choices: { delta: { content?: string | null } }[] };
    });
    for (const ch of chunks) expect(ch).toMatchObject({ id: "chatcmpl-hit-1", object: "chat.completion.chunk", model: "gpt-4o-2024-08-06" });
    const contents = chunks.map((ch) => ch.choices[0]?.delta.content).filter((x): x is string => typeof x === "string" && x !== "");
    expect(contents.join("")).toBe("Hello! How can I assist you today?");
    expect(Math.max(...contents.map((p) => p.length))).toBe(4);
  });

  it("never splits a character made of a surrogate pair", () => {
    const c = assembled(textStream);
    const emoji = { ...c, choices: [{ ...c.choices[0]!, message: { role: "assistant" as const, content: "🚂🚃🚃 done" } }] };
    const replay = openAiSseFromCompletion(emoji, { includeUsage: false, chunkChars: 1 });
    expect(replay).not.toMatch(/\\ud[89ab]/i);
    expect(completionFromOpenAiSse([replay])?.choices[0]?.message.content).toBe("🚂🚃🚃 done");
  });

  it("replays several choices and a refusal", () => {
    const c: ChatCompletion = {
      id: "chatcmpl-n2",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-mini",
      choices: [
        { index: 1, message: { role: "assistant", content: null, refusal: "I can't help with that." }, finish_reason: "stop", logprobs: null },
        { index: 0, message: { role: "assistant", content: "Sure: 42.", refusal: null }, finish_reason: "length", logprobs: null },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
    };
    const back = completionFromOpenAiSse([openAiSseFromCompletion(c, { includeUsage: true, chunkChars: 3 })]);
    expect(back).toEqual({ ...c, choices: [c.choices[1], c.choices[0]] });
  });

  it.each(fixtures)("replays the %s answer so that the official OpenAI SDK assembles the same message", async (_name, sse) => {
    const first = assembled(sse);
    const sdk = await sdkAssembled(openAiSseFromCompletion(first, { includeUsage: true, chunkChars: 3 }));
    const m = first.choices[0]?.message;
    expect(sdk.choices[0]?.message.content).toBe(m?.content);
    expect(sdk.choices[0]?.finish_reason).toBe(first.choices[0]?.finish_reason);
    expect(sdk.choices[0]?.message.tool_calls?.map((t) => ({ id: t.id, fn: t.type === "function" ? t.function : null }))).toEqual(
      m?.tool_calls?.map((t) => ({ id: t.id, fn: { name: t.function.name, arguments: t.function.arguments } })),
    );
    expect(sdk.usage?.total_tokens).toBe(first.usage?.total_tokens);
  });
});
