import { readFixture } from "./fixtures";
import { readChunkLines, readCassetteTurns } from "./fixtures-mistral";

/** Recorded Cohere v2 payloads (attribution in fixtures/SOURCES.md). */
export const cohereFixtureFiles = {
  text: "cohere__text__vercel-ai.json",
  textStreamChunks: "cohere__text-stream__vercel-ai.chunks.txt",
  toolCall: "cohere__tool-call__vercel-ai.json",
  toolCallStreamChunks: "cohere__tool-call-stream__vercel-ai.chunks.txt",
  error404: "cohere__error-404-model-not-found__pydantic-ai.yaml",
} as const;

export interface CohereFixtures {
  /** Raw bytes of a /v2/chat text reply: billed_units vs tokens, cached_tokens, COMPLETE. */
  text: string;
  /** A streamed text reply: one event JSON per entry (message-start … message-end). */
  textStreamChunks: string[];
  /** Raw bytes of a reply with tool_plan and two parallel tool_calls, TOOL_CALL. */
  toolCall: string;
  /** A streamed tool call: tool-plan-delta, tool-call-start/delta/end for two tools, message-end. */
  toolCallStreamChunks: string[];
  /** Cohere's error envelope `{id, message}` with its HTTP status (404 model not found). */
  error404: { status: number; body: string };
}

let cached: CohereFixtures | undefined;

function readError404(): { status: number; body: string } {
  const err = readCassetteTurns(cohereFixtureFiles.error404)[0];
  return { status: err?.status ?? 404, body: err?.responseBody ?? "" };
}

export function loadCohereFixtures(): CohereFixtures {
  cached ??= {
    text: readFixture(cohereFixtureFiles.text),
    textStreamChunks: readChunkLines(cohereFixtureFiles.textStreamChunks),
    toolCall: readFixture(cohereFixtureFiles.toolCall),
    toolCallStreamChunks: readChunkLines(cohereFixtureFiles.toolCallStreamChunks),
    error404: readError404(),
  };
  return cached;
}

/**
 * Cohere v2's wire framing for recorded event payloads: Server-Sent Events named by
 * the payload's `type` (`event: content-delta` / `data: {…}`); the stream ends with
 * message-end, there is no `[DONE]`.
 */
export function cohereSseFromChunks(chunks: string[]): string[] {
  return chunks.map((c) => {
    const type = (JSON.parse(c) as { type?: string }).type ?? "message";
    return `event: ${type}\ndata: ${c}\n\n`;
  });
}
