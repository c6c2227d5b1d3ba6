import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { ChatCompletionRequest } from "@switchyard/contracts";
import { readFixture } from "@switchyard/mock-upstream/fixtures";
import {
  countChatInputTokens,
  countEmbeddingInputTokens,
  countTextTokens,
  estimateChatInputTokens,
  estimateImageTokens,
  imageSizeFromDataUrl,
  loadedEncoding,
  tokenizerProfile,
} from "./index";

interface Cassette {
  interactions: { request: { parsed_body: Record<string, unknown> }; response: { parsed_body?: { usage?: { prompt_tokens: number } }; body?: { string: string } } }[];
}

/** Each recorded turn: the exact request sent and the prompt_tokens OpenAI billed for it. */
function recordedTurns(file: string): { request: ChatCompletionRequest; promptTokens: number }[] {
  const cassette = parseYaml(readFixture(file)) as Cassette;
  return cassette.interactions.map((i) => {
    let promptTokens = i.response.parsed_body?.usage?.prompt_tokens;
    if (promptTokens === undefined) {
      // A stream: the usage-only chunk near the end.
      const usageLine = (i.response.body?.string ?? "").split("\n").filter((l) => l.includes('"usage":{')).at(-1) ?? "";
      promptTokens = (JSON.parse(usageLine.slice("data: ".length)) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    }
    return { request: i.request.parsed_body as ChatCompletionRequest, promptTokens };
  });
}

describe("lazy loading", () => {
  it("loads no encoding until a count needs one", async () => {
    expect(loadedEncoding("o200k_base")).toBeNull();
    expect(loadedEncoding("cl100k_base")).toBeNull();
    await countTextTokens("hello", "gpt-4o");
    expect(loadedEncoding("o200k_base")).not.toBeNull();
    expect(loadedEncoding("cl100k_base")).toBeNull();
  });

  it("estimates synchronously once the encoding is loaded, and the same number as while it loads", async () => {
    const request: ChatCompletionRequest = { model: "gpt-4", messages: [{ role: "user", content: "How many tokens is this?" }] };
    expect(loadedEncoding("cl100k_base")).toBeNull();
    const loading = estimateChatInputTokens(request, "gpt-4");
    expect(loading).toBeInstanceOf(Promise);
    const counted = await loading;
    const now = estimateChatInputTokens(request, "gpt-4");
    expect(typeof now).toBe("number");
    expect(now).toBe(counted);
    expect(now).toBe((await countChatInputTokens(request, "gpt-4")).tokens);
  });
});

describe("model families", () => {
  it.each([
    ["gpt-4o-mini", "o200k_base", "openai-o200k"],
    ["gpt-4.1-nano", "o200k_base", "openai-o200k"],
    ["o3-mini", "o200k_base", "openai-o200k"],
    ["gpt-5", "o200k_base", "openai-o200k"],
    ["openai/gpt-4o", "o200k_base", "openai-o200k"],
    ["ft:gpt-4o-mini-2024-07-18:acme::abc123", "o200k_base", "openai-o200k"],
    ["gpt-4-turbo", "cl100k_base", "openai-cl100k"],
    ["gpt-3.5-turbo", "cl100k_base", "openai-cl100k"],
    ["text-embedding-3-small", "cl100k_base", "openai-cl100k"],
    ["claude-sonnet-4-5", "o200k_base", "anthropic"],
    ["gemini-2.0-flash", "o200k_base", "gemini"],
    ["mistral-small-latest", "o200k_base", "mistral"],
    ["command-a-03-2025", "o200k_base", "cohere"],
    ["meta-llama/llama-4-scout-17b-16e-instruct", "o200k_base", "llama"],
  ])("%s → %s (%s)", (model, encoding, family) => {
    const p = tokenizerProfile(model);
    expect(p.encoding).toBe(encoding);
    expect(p.family).toBe(family);
    expect(p.exactEncoding).toBe(family.startsWith("openai"));
  });
});

describe("OpenAI chat: the billed prompt_tokens of recorded calls", () => {
  it("plain messages are exact (gpt-4o: 'What is the capital of France?' billed 14)", async () => {
    const cassette = parseYaml(readFixture("openai-responses__text__pydantic-ai.yaml")) as {
      interactions: { request: { parsed_body: { input: { role: string; content: string }[]; model: string } }; response: { parsed_body: { usage: { input_tokens: number } } } }[];
    };
    const turn = cassette.interactions[0]!;
    const request = { model: turn.request.parsed_body.model, messages: turn.request.parsed_body.input } as ChatCompletionRequest;
    const count = await countChatInputTokens(request, "gpt-4o");
    expect(count.tokens).toBe(turn.response.parsed_body.usage.input_tokens);
    expect(count.accuracy).toBe("exact");
  });

  it("tools, tool calls and tool results (gpt-4o, two turns) match exactly", async () => {
    const turns = recordedTurns("openai__chat-tool-call__pydantic-ai.yaml");
    expect(turns.map((t) => t.promptTokens)).toEqual([68, 89]);
    for (const t of turns) {
      const count = await countChatInputTokens(t.request, t.request.model);
      expect(count.tokens).toBe(t.promptTokens);
      expect(count.accuracy).toBe("approximate");
    }
  });

  it("streamed tool turns (gpt-4o-mini, strict tool) match exactly", async () => {
    const turns = recordedTurns("openai__chat-tool-call-stream__pydantic-ai.yaml");
    expect(turns.map((t) => t.promptTokens)).toEqual([53, 78]);
    for (const t of turns) expect(await estimateChatInputTokens(t.request, t.request.model)).toBe(t.promptTokens);
  });

  it("gpt-5 models add a hidden preamble we do not count: the count is a lower bound", async () => {
    const [first, second] = recordedTurns("openai__chat-vision-image-url__pydantic-ai.yaml");
    const a = await countChatInputTokens(first!.request, "gpt-5-mini");
    expect(a.tokens).toBeLessThan(first!.promptTokens);
    // What we do count (messages + tools) is right: the rest is the same 81-token preamble on every call.
    expect(first!.promptTokens - a.tokens).toBe(81);
    const b = await countChatInputTokens(second!.request, "gpt-5-mini");
    expect(b.breakdown.imageCount).toBe(1);
    expect(b.accuracy).toBe("approximate");
  });

  it("names add one token plus the name; the reply primer is 3", async () => {
    const base = await countChatInputTokens({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }, "gpt-4o");
    const named = await countChatInputTokens({ model: "gpt-4o", messages: [{ role: "user", content: "hi", name: "alice" }] }, "gpt-4o");
    const alice = (await countTextTokens("alice", "gpt-4o")).tokens;
    expect(named.tokens - base.tokens).toBe(alice + 1);
    // 3 framing + "user" (1) + "hi" (1) + 3 reply primer
    expect(base.tokens).toBe(8);
  });

  it("special-token text is ordinary text, not an error", async () => {
    const count = await countTextTokens("a <|endoftext|> b <|im_start|>", "gpt-4o");
    expect(count.tokens).toBeGreaterThan(5);
  });
});

describe("other families: documented estimates", () => {
  it("Gemini counts bare text: matches its recorded promptTokenCount (13) for system + user", async () => {
    const cassette = parseYaml(readFixture("gemini__text-stream-sse__pydantic-ai.yaml")) as {
      interactions: { request: { parsed_body: { contents: { parts: { text: string }[] }[]; systemInstruction: { parts: { text: string }[] } } }; response: { body: { string: string } } }[];
    };
    const i = cassette.interactions[0]!;
    const request = {
      model: "gemini-2.0-flash-exp",
      messages: [
        { role: "system", content: i.request.parsed_body.systemInstruction.parts[0]!.text },
        { role: "user", content: i.request.parsed_body.contents[0]!.parts[0]!.text },
      ],
    } as ChatCompletionRequest;
    const last = i.response.body.string.trim().split("\n").filter((l) => l.startsWith("data: ")).at(-1)!;
    const recorded = (JSON.parse(last.slice(6)) as { usageMetadata: { promptTokenCount: number } }).usageMetadata.promptTokenCount;
    const count = await countChatInputTokens(request, "gemini-2.0-flash-exp");
    expect(recorded).toBe(13);
    expect(count.accuracy).toBe("estimate");
    expect(Math.abs(count.tokens - recorded) / recorded).toBeLessThanOrEqual(count.marginPct / 100);
  });

  it("Mistral (tool + user turn) lands within the stated margin of its recorded prompt_tokens", async () => {
    const turns = recordedTurns("mistral__vision-image-url__pydantic-ai.yaml");
    const first = turns[0]!;
    const count = await countChatInputTokens(first.request, "mistral-medium-latest");
    expect(first.promptTokens).toBe(64);
    expect(Math.abs(count.tokens - first.promptTokens) / first.promptTokens).toBeLessThanOrEqual(count.marginPct / 100);
  });
});

describe("images (OpenAI's published examples)", () => {
  it("gpt-4o tiles: 1024² high = 765, 2048×4096 high = 1105, low = 85", () => {
    expect(estimateImageTokens("gpt-4o", { width: 1024, height: 1024 }, "high")).toBe(765);
    expect(estimateImageTokens("gpt-4o", { width: 2048, height: 4096 }, "high")).toBe(1105);
    expect(estimateImageTokens("gpt-4o", { width: 4096, height: 8192 }, "low")).toBe(85);
  });

  it("patch models: 1024×1024 on gpt-4.1-mini = 1024 patches × 1.62; 1800×2400 caps at 1536 patches", () => {
    expect(estimateImageTokens("gpt-4.1-mini", { width: 1024, height: 1024 })).toBe(Math.ceil(1024 * 1.62));
    expect(estimateImageTokens("gpt-4.1-mini", { width: 1800, height: 2400 })).toBe(Math.ceil(1452 * 1.62));
  });

  it("reads the size of a base64 PNG and counts it in a chat request", async () => {
    // A 1×1 PNG header claiming 600×400 (only the IHDR is read).
    const png = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png, 0);
    png.writeUInt32BE(13, 8);
    png.write("IHDR", 12, "latin1");
    png.writeUInt32BE(600, 16);
    png.writeUInt32BE(400, 20);
    const url = `data:image/png;base64,${png.toString("base64")}`;
    expect(imageSizeFromDataUrl(url)).toEqual({ width: 600, height: 400 });
    const request = { model: "gpt-4o", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url, detail: "high" } }] }] } as ChatCompletionRequest;
    const count = await countChatInputTokens(request, "gpt-4o");
    expect(count.breakdown.images).toBe(85 + 170 * 2);
  });
});

describe("embeddings input", () => {
  it("bare text plus pre-tokenized ids, no framing", async () => {
    const text = (await countTextTokens("The food was delicious and the waiter...", "text-embedding-3-small")).tokens;
    const n = await countEmbeddingInputTokens(["The food was delicious and the waiter...", [1, 2, 3]] as unknown as string[], "text-embedding-3-small");
    expect(n.tokens).toBe(text + 3);
    expect(n.encoding).toBe("cl100k_base");
    expect(n.exact).toBe(true);
  });
});

describe("provider hint", () => {
  it("classifies an opaque model name by its provider type", () => {
    expect(tokenizerProfile("text-embedding-004").family).toBe("other");
    expect(tokenizerProfile("text-embedding-004", "gemini").family).toBe("gemini");
    expect(tokenizerProfile("gpt-4o", "gemini").family).toBe("openai-o200k");
  });

  it("answers a name it has seen with the same frozen profile, and still classifies past the kept names", () => {
    const first = tokenizerProfile("Claude-Sonnet-4");
    expect(tokenizerProfile("Claude-Sonnet-4")).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.family).toBe("anthropic");
    for (let i = 0; i < 3000; i++) expect(tokenizerProfile(`custom-model-${i}`, i % 2 ? "mistral" : undefined).family).toBe(i % 2 ? "mistral" : "other");
    expect(tokenizerProfile("Claude-Sonnet-4").family).toBe("anthropic");
    expect(tokenizerProfile("gpt-3.5-turbo").encoding).toBe("cl100k_base");
  });
});
