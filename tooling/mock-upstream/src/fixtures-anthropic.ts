import { parse as parseYaml } from "yaml";
import { readFixture } from "./fixtures";

/** The recorded Anthropic Messages API payloads (attribution in fixtures/SOURCES.md). */
export const anthropicFixtureFiles = {
  text: "anthropic__text__vercel-ai.json",
  cacheRead: "anthropic__cache-read__helicone.json",
  thinking: "anthropic__thinking__vercel-ai.json",
  toolUse: "anthropic__tool-use__vercel-ai.json",
  textStreamChunks: "anthropic__text-stream__vercel-ai.chunks.txt",
  toolUseStreamChunks: "anthropic__tool-use-stream__vercel-ai.chunks.txt",
  toolUseStreamSse: "anthropic__tool-use-stream-sse-cache__helicone.sse",
  error400: "anthropic__error-400-invalid-request__pydantic-ai.yaml",
  visionImageUrl: "anthropic__vision-image-url__pydantic-ai.yaml",
} as const;

/** One recorded HTTP exchange of a VCR cassette. */
export interface AnthropicRecordedExchange {
  /** The request body the client really sent (parsed). */
  request: Record<string, unknown>;
  status: number;
  /** The response body re-serialised from the cassette's parsed body. */
  responseBody: string;
}

export interface AnthropicFixtures {
  /** Raw bytes of a non-streaming text reply (claude-sonnet-4-5). */
  text: string;
  /** Raw bytes of a reply with a cache write (50) and a cache read (183). */
  cacheRead: string;
  /** Raw bytes of a reply with a thinking block and a text block. */
  thinking: string;
  /** Raw bytes of a reply with a text block and a tool_use block (input {}). */
  toolUse: string;
  /** A streamed text reply: one event JSON per entry (SSE framing removed by the recorder). */
  textStreamChunks: string[];
  /** A streamed tool_use (tool "json") with input_json_delta fragments, one event JSON per entry. */
  toolUseStreamChunks: string[];
  /** Raw SSE bytes of a streamed text + tool_use reply with cache usage, exactly as recorded. */
  toolUseStreamSse: string;
  /** The recorded 400 invalid_request_error exchange. */
  error400: AnthropicRecordedExchange;
  /** The recorded exchange with an image (source.type url) in the request. */
  visionImageUrl: AnthropicRecordedExchange;
}

interface Cassette {
  interactions: {
    request: { parsed_body: Record<string, unknown> };
    response: { status: { code: number }; parsed_body?: unknown; body?: { string: string } };
  }[];
}

function readExchange(name: string): AnthropicRecordedExchange {
  const first = (parseYaml(readFixture(name)) as Cassette).interactions[0];
  if (!first) throw new Error(`${name} has no interaction`);
  return {
    request: first.request.parsed_body,
    status: first.response.status.code,
    responseBody: first.response.body?.string ?? JSON.stringify(first.response.parsed_body),
  };
}

const lines = (text: string) => text.split(/\r?\n/).filter((l) => l.trim() !== "");

let cached: AnthropicFixtures | undefined;

/** Loads every Anthropic fixture once (they are small). */
export function loadAnthropicFixtures(): AnthropicFixtures {
  cached ??= {
    text: readFixture(anthropicFixtureFiles.text),
    cacheRead: readFixture(anthropicFixtureFiles.cacheRead),
    thinking: readFixture(anthropicFixtureFiles.thinking),
    toolUse: readFixture(anthropicFixtureFiles.toolUse),
    textStreamChunks: lines(readFixture(anthropicFixtureFiles.textStreamChunks)),
    toolUseStreamChunks: lines(readFixture(anthropicFixtureFiles.toolUseStreamChunks)),
    toolUseStreamSse: readFixture(anthropicFixtureFiles.toolUseStreamSse),
    error400: readExchange(anthropicFixtureFiles.error400),
    visionImageUrl: readExchange(anthropicFixtureFiles.visionImageUrl),
  };
  return cached;
}

/**
 * Frames recorded event JSON lines the way Anthropic sends them:
 * `event: <type>\ndata: <json>\n\n` (the recorder kept only the data payloads).
 */
export function frameAnthropicEvents(jsonLines: string[]): string[] {
  return jsonLines.map((line) => {
    const type = (JSON.parse(line) as { type?: unknown }).type;
    return `event: ${typeof type === "string" ? type : "message"}\ndata: ${line}\n\n`;
  });
}

/** Splits a raw SSE recording into its events, each with its blank-line terminator, bytes unchanged. */
export function splitAnthropicSse(raw: string): string[] {
  const events = raw.split(/(?<=\n\n)/);
  // The Helicone recording lacks the final blank line; Anthropic sends one.
  const last = events.at(-1);
  if (last !== undefined && !last.endsWith("\n\n")) events[events.length - 1] = `${last.replace(/\n*$/, "")}\n\n`;
  return events.filter((e) => e.trim() !== "");
}
