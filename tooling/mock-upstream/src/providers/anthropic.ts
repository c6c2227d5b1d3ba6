import { frameAnthropicEvents, loadAnthropicFixtures, splitAnthropicSse } from "../fixtures-anthropic";
import { headerValue, sendJson, sendRecordedJson, writeFrames, type MockPersonality } from "../core";

/** Anthropic's error types by status, with the messages its API uses. */
const ERRORS: Record<number, { type: string; message: string }> = {
  401: { type: "authentication_error", message: "invalid x-api-key" },
  403: { type: "permission_error", message: "Your API key does not have permission to use the specified resource." },
  404: { type: "not_found_error", message: "The requested resource could not be found." },
  413: { type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes." },
  429: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit." },
  500: { type: "api_error", message: "Internal server error" },
  529: { type: "overloaded_error", message: "Overloaded" },
};

const errorJson = (type: string, message: string) => JSON.stringify({ type: "error", error: { type, message } });

export function anthropicErrorBody(status: number): string {
  if (status === 400) return loadAnthropicFixtures().error400.responseBody;
  const e = ERRORS[status] ?? { type: "api_error", message: `Mock upstream error ${status}.` };
  return errorJson(e.type, e.message);
}

interface Block {
  type?: string;
  id?: string;
  tool_use_id?: string;
}
interface MessagesBody {
  model?: unknown;
  max_tokens?: unknown;
  stream?: boolean;
  tools?: unknown[];
  tool_choice?: { type?: string; name?: string };
  messages?: { role?: string; content?: string | Block[] }[];
}

/**
 * The checks Anthropic itself makes that a translating gateway most often gets wrong:
 * max_tokens present, only user/assistant roles, and every tool_use answered by a
 * tool_result in the very next (user) message. Returns the error message, or null.
 */
function validate(body: MessagesBody): string | null {
  if (typeof body.model !== "string") return "model: Field required";
  if (typeof body.max_tokens !== "number" || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) return "max_tokens: Field required";
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "messages: Field required";
  const msgs = body.messages;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i] ?? {};
    if (m.role !== "user" && m.role !== "assistant") {
      return `messages.${i}.role: Unexpected role "${String(m.role)}". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`;
    }
    const blocks = Array.isArray(m.content) ? m.content : [];
    const toolUses = m.role === "assistant" ? blocks.filter((b) => b.type === "tool_use").map((b) => b.id) : [];
    if (toolUses.length > 0) {
      const next = msgs[i + 1];
      const answered = new Set(Array.isArray(next?.content) ? next.content.filter((b) => b.type === "tool_result").map((b) => b.tool_use_id) : []);
      const missing = toolUses.filter((id) => !answered.has(id));
      if (next?.role !== "user" || missing.length > 0) {
        return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    }
    if (m.role === "user" && blocks.some((b) => b.type === "tool_result")) {
      const prev = msgs[i - 1];
      const used = new Set(Array.isArray(prev?.content) && prev.role === "assistant" ? prev.content.filter((b) => b.type === "tool_use").map((b) => b.id) : []);
      const stray = blocks.find((b) => b.type === "tool_result" && !used.has(b.tool_use_id));
      if (stray) return `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(stray.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
    }
  }
  return null;
}

const hasImage = (body: MessagesBody) =>
  (body.messages ?? []).some((m) => Array.isArray(m.content) && m.content.some((b) => b.type === "image"));

/** A forced tool gets called by that name: the recorded tool_use is replayed under it, as Anthropic would answer. */
function renameToolUse(json: string, name: string): string {
  const body = JSON.parse(json) as { content?: { type?: string; name?: string }[] };
  for (const b of body.content ?? []) if (b.type === "tool_use") b.name = name;
  return JSON.stringify(body);
}

function renameStreamedToolUse(lines: string[], name: string): string[] {
  return lines.map((line) => {
    const ev = JSON.parse(line) as { type?: string; content_block?: { type?: string; name?: string } };
    if (ev.type !== "content_block_start" || ev.content_block?.type !== "tool_use") return line;
    ev.content_block.name = name;
    return JSON.stringify(ev);
  });
}

/** Picks the recorded reply that fits the request (and the scenario, when one is set). */
function pickStream(body: MessagesBody, scenario: string | undefined): string[] {
  const fx = loadAnthropicFixtures();
  const forced = body.tool_choice?.type === "tool" ? body.tool_choice.name : undefined;
  if (scenario === "stream-error") {
    // Anthropic ends a failing stream with an `error` event (its documented shape; no recording of one exists).
    const head = frameAnthropicEvents(fx.textStreamChunks.slice(0, 5));
    return [...head, `event: error\ndata: ${errorJson("overloaded_error", "Overloaded")}\n\n`];
  }
  if (forced) return frameAnthropicEvents(renameStreamedToolUse(fx.toolUseStreamChunks, forced));
  if (Array.isArray(body.tools) && body.tools.length > 0) return splitAnthropicSse(fx.toolUseStreamSse);
  return frameAnthropicEvents(fx.textStreamChunks);
}

function pickJson(body: MessagesBody, scenario: string | undefined): string {
  const fx = loadAnthropicFixtures();
  const forced = body.tool_choice?.type === "tool" ? body.tool_choice.name : undefined;
  if (forced) return renameToolUse(fx.toolUse, forced);
  if (Array.isArray(body.tools) && body.tools.length > 0) return fx.toolUse;
  if (hasImage(body)) return fx.visionImageUrl.responseBody;
  if (scenario === "cache-read") return fx.cacheRead;
  if (scenario === "thinking") return fx.thinking;
  return fx.text;
}

/**
 * Anthropic: x-api-key + anthropic-version headers, POST /v1/messages, event streams with
 * `event:` lines. Scenarios: cache-read, thinking, stream-error, rate-limited (429 with
 * retry-after), prompt-too-long (400).
 */
export const anthropicPersonality: MockPersonality = {
  basePath: "/v1",
  authorize(req) {
    const key = headerValue(req.headers, "x-api-key");
    if (!key) return { status: 401, body: errorJson("authentication_error", "x-api-key header is required") };
    if (!headerValue(req.headers, "anthropic-version")) return { status: 400, body: errorJson("invalid_request_error", "anthropic-version: header is required") };
    return null;
  },
  errorBody: anthropicErrorBody,
  // Anthropic's 429 always says how long to wait (its own rate-limited scenario below uses 7 s).
  errorHeaders: (status): Record<string, string> => (status === 429 ? { "retry-after": "1" } : {}),
  async handle(ctx) {
    const { req, res, rec } = ctx;
    if (req.method !== "POST" || ctx.path !== "/messages") {
      sendJson(res, 404, errorJson("not_found_error", `${req.method} ${rec.path} not found`));
      return;
    }
    if (typeof rec.body !== "object" || rec.body === null) {
      sendJson(res, 400, errorJson("invalid_request_error", "Request body is not valid JSON."));
      return;
    }
    const body = rec.body as MessagesBody;
    const invalid = validate(body);
    if (invalid) {
      sendJson(res, 400, errorJson("invalid_request_error", invalid));
      return;
    }
    if (ctx.scenario === "rate-limited") {
      sendJson(res, 429, anthropicErrorBody(429), { "retry-after": "7" });
      return;
    }
    if (ctx.scenario === "prompt-too-long") {
      sendJson(res, 400, errorJson("invalid_request_error", "prompt is too long: 215439 tokens > 200000 maximum"));
      return;
    }
    if (body.stream === true) {
      await writeFrames(ctx, pickStream(body, ctx.scenario));
      return;
    }
    await sendRecordedJson(ctx, pickJson(body, ctx.scenario));
  },
};
