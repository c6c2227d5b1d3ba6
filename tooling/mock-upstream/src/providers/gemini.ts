import { geminiSseFrames, loadGeminiFixtures } from "../fixtures-gemini";
import { headerValue, sendJson, sendRecordedJson, writeFrames, type MockPersonality } from "../core";

const MODELS = ["gemini-3-pro-preview", "gemini-2.0-flash", "gemini-2.0-flash-exp"];

/**
 * Google's error envelope. 429 replays the recorded RESOURCE_EXHAUSTED body; the others
 * use Gemini's documented status names with messages in Google's wording.
 */
const ERRORS: Record<number, { status: string; message: string }> = {
  400: { status: "INVALID_ARGUMENT", message: "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)." },
  401: { status: "UNAUTHENTICATED", message: "Request had invalid authentication credentials." },
  403: { status: "PERMISSION_DENIED", message: "The caller does not have permission." },
  404: { status: "NOT_FOUND", message: "models/unknown is not found for API version v1beta, or is not supported for generateContent." },
  500: { status: "INTERNAL", message: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting" },
  503: { status: "UNAVAILABLE", message: "The model is overloaded. Please try again later." },
  504: { status: "DEADLINE_EXCEEDED", message: "Deadline expired before operation could complete." },
};

export function geminiErrorBody(status: number): string {
  if (status === 429) return loadGeminiFixtures().error429;
  const e = ERRORS[status] ?? { status: "UNKNOWN", message: `Mock upstream error ${status}.` };
  return JSON.stringify({ error: { code: status, message: e.message, status: e.status } });
}

interface Part {
  functionResponse?: unknown;
  inlineData?: unknown;
  fileData?: unknown;
  file_data?: unknown;
}

interface GenerateBody {
  contents?: { parts?: Part[] }[];
  tools?: { functionDeclarations?: unknown[] }[];
}

/**
 * Picks the recorded reply that fits the request: a tool call when functions are declared
 * (until a functionResponse came back), the image reply for image input, text otherwise.
 * Streams: the raw recorded SSE bytes by default; scenario "thinking" replays the
 * gemini-3 text stream (thought tokens in its usage).
 */
function pickReply(body: GenerateBody, stream: boolean, scenario: string | undefined): { frames?: string[]; json?: string } {
  const fx = loadGeminiFixtures();
  const parts = (body.contents ?? []).flatMap((c) => c.parts ?? []);
  const answered = parts.some((p) => p.functionResponse !== undefined);
  const hasTools = !answered && (body.tools ?? []).some((t) => (t.functionDeclarations ?? []).length > 0);
  const hasMedia = parts.some((p) => p.inlineData !== undefined || p.fileData !== undefined || p.file_data !== undefined);
  if (stream) {
    if (hasTools) return { frames: geminiSseFrames(fx.toolCallStreamChunks) };
    if (scenario === "thinking") return { frames: geminiSseFrames(fx.textStreamChunks) };
    // Split at Gemini's own "\r\n\r\n" separators so each recorded event goes out as it came.
    return { frames: fx.textStreamSse.responseBody.split(/(?<=\r\n\r\n)/).filter((f) => f !== "") };
  }
  if (hasTools) return { json: fx.toolCall };
  if (hasMedia) return { json: fx.visionImageUrl.responseBody };
  return { json: fx.text };
}

const ROUTE = /^\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** Google Gemini API: x-goog-api-key (or ?key=), /v1beta/models/<model>:generateContent, SSE with alt=sse. */
export const geminiPersonality: MockPersonality = {
  basePath: "/v1beta",
  authorize(req, rec) {
    const key = headerValue(req.headers, "x-goog-api-key") ?? new URLSearchParams(rec.query).get("key");
    if (key) return null;
    // What Gemini answers a request without any key.
    const message =
      "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";
    return { status: 403, body: JSON.stringify({ error: { code: 403, message, status: "PERMISSION_DENIED" } }) };
  },
  errorBody: geminiErrorBody,
  async handle(ctx) {
    const { req, res, rec } = ctx;
    if (req.method === "GET" && ctx.path === "/models") {
      const models = MODELS.map((m) => ({ name: `models/${m}`, displayName: m, supportedGenerationMethods: ["generateContent", "countTokens"] }));
      sendJson(res, 200, JSON.stringify({ models }));
      return;
    }
    const route = ROUTE.exec(ctx.path);
    if (req.method !== "POST" || !route) {
      sendJson(res, 404, geminiErrorBody(404));
      return;
    }
    if (typeof rec.body !== "object" || rec.body === null) {
      const message = "Invalid JSON payload received.";
      sendJson(res, 400, JSON.stringify({ error: { code: 400, message, status: "INVALID_ARGUMENT" } }));
      return;
    }
    const stream = route[2] === "streamGenerateContent";
    const reply = pickReply(rec.body, stream, ctx.scenario);
    if (reply.json !== undefined) {
      await sendRecordedJson(ctx, reply.json);
      return;
    }
    const frames = reply.frames ?? [];
    if (new URLSearchParams(rec.query).get("alt") === "sse") {
      await writeFrames(ctx, frames);
      return;
    }
    // Without alt=sse Gemini streams one JSON array of responses.
    const items = frames.map((f) => f.replace(/^data: ?/, "").trim());
    await writeFrames(ctx, items.map((item, i) => `${i === 0 ? "[" : ","}${item}${i === items.length - 1 ? "]" : ""}`), "application/json; charset=UTF-8");
  },
};
