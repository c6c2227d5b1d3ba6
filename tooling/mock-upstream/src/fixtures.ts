import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";

/** Where the recorded OpenAI fixtures live (attribution in fixtures/SOURCES.md). */
export const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures");

export const fixtureFiles = {
  chatText: "openai__chat-text__vercel-ai.json",
  chatCachedTokens: "openai__chat-cached-tokens__helicone.json",
  chatError400: "openai__chat-error-400-unsupported-parameter__vercel-ai.json",
  chatTextStream: "openai__chat-text-stream-sse__helicone.sse",
  toolCall: "openai__chat-tool-call__pydantic-ai.yaml",
  toolCallStream: "openai__chat-tool-call-stream__pydantic-ai.yaml",
} as const;

/** Every recorded fixture's file name (all providers; SOURCES.md and dotfiles left out). */
export function listFixtures(): string[] {
  return readdirSync(fixturesDir)
    .filter((f) => !f.startsWith(".") && f !== "SOURCES.md")
    .sort();
}

/** One turn of a VCR cassette: the real request body and the response body as text. */
export interface RecordedTurn {
  request: Record<string, unknown>;
  /** JSON turns: the cassette's parsed body re-serialised; SSE turns: the raw stream text. */
  responseBody: string;
}

export interface RecordedFixtures {
  /** Raw bytes of a non-streaming completion (text reply). */
  chatText: string;
  /** Raw bytes of a non-streaming completion with a prompt-cache hit. */
  chatCachedTokens: string;
  /** Raw bytes of OpenAI's 400 unsupported_parameter error body. */
  chatError400: string;
  /** Raw SSE body of a streamed text reply (ends with the usage-only chunk and [DONE]). */
  chatTextStream: string;
  /** Two turns: tool call, then the final tool call after the tool result. */
  toolCall: RecordedTurn[];
  /** Two streamed turns: tool call deltas, then text after the tool result. */
  toolCallStream: RecordedTurn[];
}

export function readFixture(name: string): string {
  return readFileSync(path.join(fixturesDir, name), "utf8");
}

interface Cassette {
  interactions: {
    request: { parsed_body: Record<string, unknown> };
    response: { parsed_body?: unknown; body?: { string: string } };
  }[];
}

function readCassette(name: string): RecordedTurn[] {
  const cassette = parseYaml(readFixture(name)) as Cassette;
  return cassette.interactions.map((i) => ({
    request: i.request.parsed_body,
    responseBody: i.response.body?.string ?? JSON.stringify(i.response.parsed_body),
  }));
}

let cached: RecordedFixtures | undefined;

/** Loads every fixture once (they are small). */
export function loadFixtures(): RecordedFixtures {
  cached ??= {
    chatText: readFixture(fixtureFiles.chatText),
    chatCachedTokens: readFixture(fixtureFiles.chatCachedTokens),
    chatError400: readFixture(fixtureFiles.chatError400),
    chatTextStream: readFixture(fixtureFiles.chatTextStream),
    toolCall: readCassette(fixtureFiles.toolCall),
    toolCallStream: readCassette(fixtureFiles.toolCallStream),
  };
  return cached;
}

/**
 * Splits a recorded SSE body into its events (text without the blank-line separator).
 * The Helicone recording lacks the final blank line after `data: [DONE]`; splitting and
 * re-joining with "\n\n" restores what OpenAI actually sends.
 */
export function splitSseEvents(raw: string): string[] {
  return raw.split(/\r?\n\r?\n/).filter((e) => e.trim() !== "");
}

/** True for OpenAI's final usage-only chunk (`choices: []` with a usage object). */
export function isUsageOnlyEvent(event: string): boolean {
  const data = event.replace(/^data: ?/, "");
  if (data === "[DONE]") return false;
  try {
    const chunk = JSON.parse(data) as { choices?: unknown[]; usage?: unknown };
    return Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage != null;
  } catch {
    return false;
  }
}

/**
 * The exact bytes the mock sends for a recorded stream: every event followed by a blank
 * line, minus the usage-only chunk when the client did not ask for include_usage.
 */
export function expectedStreamBody(raw: string, includeUsage: boolean): string {
  return splitSseEvents(raw)
    .filter((e) => includeUsage || !isUsageOnlyEvent(e))
    .map((e) => `${e}\n\n`)
    .join("");
}
