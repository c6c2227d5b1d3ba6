import { randomUUID } from "node:crypto";
import { headerValue, sendJson, sendRecordedJson, writeFrames, type MockPersonality } from "../core";
import { cohereSseFromChunks, loadCohereFixtures } from "../fixtures-cohere";

/** Top-level fields of Cohere's /v2/chat; others are refused (so OpenAI-only names never slip through). */
const ACCEPTED = new Set([
  "model", "messages", "stream", "tools", "strict_tools", "documents", "citation_options", "response_format", "safety_mode",
  "max_tokens", "stop_sequences", "temperature", "seed", "frequency_penalty", "presence_penalty", "k", "p", "logprobs",
  "tool_choice", "thinking", "priority",
]);

const cohereError = (message: string) => JSON.stringify({ id: randomUUID(), message });

export function cohereErrorBody(status: number): string {
  if (status === 404) return loadCohereFixtures().error404.body;
  if (status === 401) return cohereError("invalid api token");
  if (status === 429) return cohereError("You are using a Trial key, which is limited to 10 API calls / minute.");
  if (status === 400) return cohereError("invalid request: message must be at least 1 token long or tool results must be specified.");
  return cohereError("internal server error, this has been reported to our developers.");
}

interface ChatBody {
  stream?: boolean;
  tools?: unknown[];
  messages?: { role?: string }[];
}

/**
 * Cohere v2: Bearer auth, POST /v2/chat, `{id, message}` errors, and a stream of
 * Server-Sent Events named by type, ending with message-end (no [DONE]). Replays the
 * recorded text and tool-call replies and streams; the 404 replays the recorded error.
 */
export const coherePersonality: MockPersonality = {
  basePath: "/v2",
  authorize(req) {
    const auth = headerValue(req.headers, "authorization");
    if (auth?.startsWith("Bearer ") && auth.length > "Bearer ".length) return null;
    return { status: 401, body: cohereError("no api key supplied") };
  },
  errorBody: cohereErrorBody,
  async handle(ctx) {
    const { req, res, rec } = ctx;
    if (req.method !== "POST" || ctx.path !== "/chat") {
      sendJson(res, 404, cohereError(`Unknown request URL: ${req.method ?? ""} ${rec.path}`));
      return;
    }
    if (typeof rec.body !== "object" || rec.body === null) {
      sendJson(res, 400, cohereError("invalid request: could not parse the JSON body"));
      return;
    }
    const unknown = Object.keys(rec.body).find((k) => !ACCEPTED.has(k));
    if (unknown !== undefined) {
      sendJson(res, 400, cohereError(`invalid request: unknown field: parameter ${unknown} is not a valid field`));
      return;
    }
    const body = rec.body as ChatBody;
    const fx = loadCohereFixtures();
    const toolTurn = Array.isArray(body.tools) && body.tools.length > 0 && !body.messages?.some((m) => m.role === "tool");
    if (body.stream === true) {
      await writeFrames(ctx, cohereSseFromChunks(toolTurn ? fx.toolCallStreamChunks : fx.textStreamChunks));
      return;
    }
    await sendRecordedJson(ctx, toolTurn ? fx.toolCall : fx.text);
  },
};
