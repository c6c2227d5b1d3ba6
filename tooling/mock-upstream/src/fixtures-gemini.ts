import { parse as parseYaml } from "yaml";
import { readFixture } from "./fixtures";

/** The recorded Google Gemini API payloads (attribution in fixtures/SOURCES.md). */
export const geminiFixtureFiles = {
  text: "gemini__text__vercel-ai.json",
  toolCall: "gemini__tool-call__vercel-ai.json",
  error429: "gemini__error-429-resource-exhausted__vercel-ai.json",
  textStreamChunks: "gemini__text-stream__vercel-ai.chunks.txt",
  toolCallStreamChunks: "gemini__tool-call-stream__vercel-ai.chunks.txt",
  textStreamSse: "gemini__text-stream-sse__pydantic-ai.yaml",
  visionImageUrl: "gemini__vision-image-url__pydantic-ai.yaml",
} as const;

/** One recorded HTTP exchange of a VCR cassette. */
export interface GeminiRecordedExchange {
  /** The request body the client really sent (parsed). */
  request: Record<string, unknown>;
  /** The request URL the client really called. */
  uri: string;
  /** The response body as text: raw SSE bytes for streams, JSON re-serialised otherwise. */
  responseBody: string;
}

export interface GeminiFixtures {
  /** Raw bytes of a non-streaming generateContent text reply (gemini-3-pro-preview, with thoughts). */
  text: string;
  /** Raw bytes of a non-streaming reply holding one functionCall part. */
  toolCall: string;
  /** Raw bytes of a 429 RESOURCE_EXHAUSTED error body with RetryInfo. */
  error429: string;
  /** A streamed text reply: one GenerateContentResponse JSON per entry (SSE framing removed). */
  textStreamChunks: string[];
  /** A streamed tool call: the functionCall arrives whole, then a finish chunk. */
  toolCallStreamChunks: string[];
  /** A raw `streamGenerateContent?alt=sse` exchange, bytes exactly as Gemini sent them. */
  textStreamSse: GeminiRecordedExchange;
  /** A generateContent exchange with an image URL (fileData) part. */
  visionImageUrl: GeminiRecordedExchange;
}

interface Cassette {
  interactions: {
    request: { parsed_body: Record<string, unknown>; uri: string };
    response: { parsed_body?: unknown; body?: { string: string } };
  }[];
}

function readExchange(name: string): GeminiRecordedExchange {
  const first = (parseYaml(readFixture(name)) as Cassette).interactions[0];
  if (!first) throw new Error(`${name} has no interaction`);
  return {
    request: first.request.parsed_body,
    uri: first.request.uri,
    responseBody: first.response.body?.string ?? JSON.stringify(first.response.parsed_body),
  };
}

const lines = (text: string) => text.split(/\r?\n/).filter((l) => l.trim() !== "");

let cached: GeminiFixtures | undefined;

export function loadGeminiFixtures(): GeminiFixtures {
  cached ??= {
    text: readFixture(geminiFixtureFiles.text),
    toolCall: readFixture(geminiFixtureFiles.toolCall),
    error429: readFixture(geminiFixtureFiles.error429),
    textStreamChunks: lines(readFixture(geminiFixtureFiles.textStreamChunks)),
    toolCallStreamChunks: lines(readFixture(geminiFixtureFiles.toolCallStreamChunks)),
    textStreamSse: readExchange(geminiFixtureFiles.textStreamSse),
    visionImageUrl: readExchange(geminiFixtureFiles.visionImageUrl),
  };
  return cached;
}

/** Gemini's own SSE framing (as in the raw pydantic-ai recording): `data: <json>\r\n\r\n` per response. */
export function geminiSseFrames(chunks: string[]): string[] {
  return chunks.map((c) => `data: ${c}\r\n\r\n`);
}
