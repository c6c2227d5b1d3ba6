import { randomUUID } from "node:crypto";
import { headerValue, sendJson, sendRecordedJson, writeFrames, type MockPersonality } from "../core";
import { splitSseEvents } from "../fixtures";
import { loadMistralFixtures, mistralSseFromChunks } from "../fixtures-mistral";

/**
 * Top-level fields Mistral's chat API accepts; it answers anything else with a 422
 * `extra_forbidden` (so the mock proves the gateway never sends OpenAI-only fields).
 */
const ACCEPTED = new Set([
  "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata", "response_format",
  "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction", "parallel_tool_calls", "prompt_mode", "safe_prompt",
]);

/** Mistral's `{"object":"error",…}` envelope (shape as public API users report it; there is no recorded one). */
function mistralError(message: unknown, type: string, code: string | null = null): string {
  return JSON.stringify({ object: "error", message, type, param: null, code });
}

export function mistralErrorBody(status: number): string {
  if (status === 401) return JSON.stringify({ message: "Unauthorized", request_id: randomUUID().replace(/-/g, "") });
  // Mistral's current 429 (its older gateway answered a bare `{"message":"Requests rate limit exceeded"}`).
  if (status === 429) return JSON.stringify({ object: "error", message: "Rate limit exceeded", type: "rate_limited", param: null, code: "1300" });
  if (status === 400 || status === 422) {
    const detail = [{ type: "extra_forbidden", loc: ["body", "max_completion_tokens"], msg: "Extra inputs are not permitted", input: 100 }];
    return mistralError({ detail }, "invalid_request_message_error");
  }
  return mistralError("Service unavailable.", "internal_server_error");
}

interface ChatBody {
  stream?: boolean;
  tools?: unknown[];
  messages?: { role?: string; content?: unknown }[];
}

const hasImage = (body: ChatBody) =>
  (body.messages ?? []).some((m) => Array.isArray(m.content) && (m.content as { type?: string }[]).some((p) => p.type === "image_url"));

/**
 * Mistral (La Plateforme): Bearer auth, /v1/chat/completions, strict bodies, SSE ending
 * with [DONE]. Replays: text, the magistral reasoning stream (for any text stream), the
 * tool call and its stream, and the image reply for a request with an image_url part.
 */
export const mistralPersonality: MockPersonality = {
  basePath: "/v1",
  authorize(req) {
    const auth = headerValue(req.headers, "authorization");
    if (auth?.startsWith("Bearer ") && auth.length > "Bearer ".length) return null;
    return { status: 401, body: mistralErrorBody(401) };
  },
  errorBody: mistralErrorBody,
  async handle(ctx) {
    const { req, res, rec } = ctx;
    if (req.method !== "POST" || ctx.path !== "/chat/completions") {
      sendJson(res, 404, JSON.stringify({ detail: "Not Found" }));
      return;
    }
    if (typeof rec.body !== "object" || rec.body === null) {
      sendJson(res, 400, mistralError("Invalid JSON body", "invalid_request_error"));
      return;
    }
    const extra = Object.keys(rec.body).filter((k) => !ACCEPTED.has(k));
    if (extra.length > 0) {
      const detail = extra.map((k) => ({ type: "extra_forbidden", loc: ["body", k], msg: "Extra inputs are not permitted" }));
      sendJson(res, 422, mistralError({ detail }, "invalid_request_message_error"));
      return;
    }
    const body = rec.body as ChatBody;
    const fx = loadMistralFixtures();
    const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
    const afterToolResult = body.messages?.some((m) => m.role === "tool") === true;
    if (body.stream === true) {
      const raw = hasTools && !afterToolResult ? mistralSseFromChunks(fx.toolCallStreamChunks) : fx.reasoningStream;
      await writeFrames(ctx, splitSseEvents(raw).map((e) => `${e}\n\n`));
      return;
    }
    if (hasImage(body)) await sendRecordedJson(ctx, fx.visionImageUrl[1]?.responseBody ?? fx.text);
    else if (hasTools && !afterToolResult) await sendRecordedJson(ctx, fx.toolCall);
    else await sendRecordedJson(ctx, fx.text);
  },
};
