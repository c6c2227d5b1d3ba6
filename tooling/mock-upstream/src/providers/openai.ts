import { isUsageOnlyEvent, loadFixtures, splitSseEvents } from "../fixtures";
import { headerValue, sendJson, sendRecordedJson, writeFrames, type MockPersonality } from "../core";
import { handleOpenAiEmbeddings } from "./openai-embeddings";

const MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1-nano"];

const ERROR_MESSAGES: Record<number, { message: string; type: string; code: string | null }> = {
  401: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" },
  404: { message: "The model does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found" },
  429: { message: "Rate limit reached for requests.", type: "requests", code: "rate_limit_exceeded" },
  500: { message: "The server had an error while processing your request. Sorry about that!", type: "server_error", code: null },
  503: { message: "The engine is currently overloaded, please try again later.", type: "server_error", code: null },
};

export function openAiErrorBody(status: number): string {
  if (status === 400) return loadFixtures().chatError400;
  const e = ERROR_MESSAGES[status] ?? { message: `Mock upstream error ${status}.`, type: "server_error", code: null };
  return JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: e.code } });
}

interface ChatBody {
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  tools?: unknown[];
  messages?: { role?: string }[];
}

/** Picks the recorded reply that fits the request. */
function pickReply(body: ChatBody, scenario: string | undefined): { stream: boolean; text: string } {
  const fx = loadFixtures();
  const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
  // Tool turn 2 is the reply after the tool result came back.
  const turn = body.messages?.some((m) => m.role === "tool") ? 1 : 0;
  if (body.stream === true) {
    const text = hasTools ? fx.toolCallStream[turn]?.responseBody : fx.chatTextStream;
    return { stream: true, text: text ?? fx.chatTextStream };
  }
  if (scenario === "cached-tokens") return { stream: false, text: fx.chatCachedTokens };
  // Some OpenAI-compatible servers report no usage at all: the recorded reply without it.
  if (scenario === "no-usage") {
    const { usage: _usage, ...rest } = JSON.parse(fx.chatText) as Record<string, unknown>;
    return { stream: false, text: JSON.stringify(rest) };
  }
  if (hasTools) return { stream: false, text: fx.toolCall[turn]?.responseBody ?? fx.chatText };
  return { stream: false, text: fx.chatText };
}

/** OpenAI (and every OpenAI-compatible server): Bearer auth, /v1/chat/completions, SSE with [DONE]. */
export const openAiPersonality: MockPersonality = {
  basePath: "/v1",
  authorize(req) {
    const auth = headerValue(req.headers, "authorization");
    if (auth?.startsWith("Bearer ") && auth.length > "Bearer ".length) return null;
    const message =
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
    return { status: 401, body: JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: null } }) };
  },
  errorBody: openAiErrorBody,
  async handle(ctx) {
    const { req, res, rec } = ctx;
    if (req.method === "GET" && ctx.path === "/models") {
      const data = MODELS.map((id) => ({ id, object: "model", created: 1715367049, owned_by: "system" }));
      sendJson(res, 200, JSON.stringify({ object: "list", data }));
      return;
    }
    if (req.method === "POST" && ctx.path === "/embeddings") {
      handleOpenAiEmbeddings(ctx);
      return;
    }
    if (req.method !== "POST" || ctx.path !== "/chat/completions") {
      const message = `Unknown request URL: ${req.method} ${rec.path}.`;
      sendJson(res, 404, JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: "unknown_url" } }));
      return;
    }
    if (typeof rec.body !== "object" || rec.body === null) {
      const message = "We could not parse the JSON body of your request.";
      sendJson(res, 400, JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: null } }));
      return;
    }
    const body = rec.body as ChatBody;
    const reply = pickReply(body, ctx.scenario);
    if (!reply.stream) {
      await sendRecordedJson(ctx, reply.text);
      return;
    }
    // As OpenAI does: the usage-only chunk is sent only when the client asked for it.
    const includeUsage = body.stream_options?.include_usage === true;
    const events = splitSseEvents(reply.text).filter((e) => includeUsage || !isUsageOnlyEvent(e));
    await writeFrames(ctx, events.map((e) => `${e}\n\n`));
  },
};
