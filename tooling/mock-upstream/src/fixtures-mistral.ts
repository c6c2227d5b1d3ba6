import { parse as parseYaml } from "yaml";
import { readFixture } from "./fixtures";

/** Recorded Mistral payloads (attribution in fixtures/SOURCES.md). */
export const mistralFixtureFiles = {
  text: "mistral__text__vercel-ai.json",
  toolCall: "mistral__tool-call__vercel-ai.json",
  toolCallStreamChunks: "mistral__tool-call-stream__vercel-ai.chunks.txt",
  reasoningStream: "mistral__reasoning-stream-sse__pydantic-ai.yaml",
  visionImageUrl: "mistral__vision-image-url__pydantic-ai.yaml",
} as const;

/** One turn of a VCR cassette: the request the client really sent, the response body as text. */
export interface CassetteTurn {
  request: Record<string, unknown>;
  status: number;
  /** Raw SSE bytes for streams, the parsed JSON re-serialised otherwise. */
  responseBody: string;
}

interface Cassette {
  interactions: {
    request: { parsed_body: Record<string, unknown> };
    response: { parsed_body?: unknown; body?: { string: string }; status?: { code?: number } };
  }[];
}

/** Every turn of a VCR cassette (pydantic-ai's recordings). */
export function readCassetteTurns(name: string): CassetteTurn[] {
  return (parseYaml(readFixture(name)) as Cassette).interactions.map((i) => ({
    request: i.request.parsed_body,
    status: i.response.status?.code ?? 200,
    responseBody: i.response.body?.string ?? JSON.stringify(i.response.parsed_body),
  }));
}

/** A `*.chunks.txt` recording: one JSON payload per line (the provider's SSE framing removed by the recorder). */
export function readChunkLines(name: string): string[] {
  return readFixture(name)
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "");
}

export interface MistralFixtures {
  /** Raw bytes of a non-streaming text reply (mistral-small-latest). */
  text: string;
  /** Raw bytes of a non-streaming tool call (no `type` on the call, no content key). */
  toolCall: string;
  /** A streamed tool call, one chunk JSON per entry: the whole call and usage in the last chunk. */
  toolCallStreamChunks: string[];
  /** Raw SSE of a magistral stream: thinking parts as typed arrays, then string content, usage on the last chunk, [DONE]. */
  reasoningStream: string;
  /** Two turns: a tool call, then a reply to a user message holding an image_url part. */
  visionImageUrl: CassetteTurn[];
}

let cached: MistralFixtures | undefined;

export function loadMistralFixtures(): MistralFixtures {
  cached ??= {
    text: readFixture(mistralFixtureFiles.text),
    toolCall: readFixture(mistralFixtureFiles.toolCall),
    toolCallStreamChunks: readChunkLines(mistralFixtureFiles.toolCallStreamChunks),
    reasoningStream: readCassetteTurns(mistralFixtureFiles.reasoningStream)[0]?.responseBody ?? "",
    visionImageUrl: readCassetteTurns(mistralFixtureFiles.visionImageUrl),
  };
  return cached;
}

/**
 * Mistral's wire framing for a recorded chunk list: `data: {json}` events ending with
 * `data: [DONE]`, as api.mistral.ai sends them (the recorder kept only the payloads).
 */
export function mistralSseFromChunks(chunks: string[]): string {
  return [...chunks, "[DONE]"].map((c) => `data: ${c}\n\n`).join("");
}
