import { AZURE_CONTENT_FILTER_ERROR, loadAzureFixtures } from "../fixtures-azure";
import { isUsageOnlyEvent, loadFixtures, splitSseEvents } from "../fixtures";
import { headerValue, sendJson, sendRecordedJson, writeFrames, type MockPersonality } from "../core";

const azureError = (code: string, message: string) => JSON.stringify({ error: { code, message } });

export function azureErrorBody(status: number): string {
  if (status === 400) return AZURE_CONTENT_FILTER_ERROR;
  if (status === 401) return azureError("401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.");
  if (status === 404) return azureError("DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.");
  if (status === 429) return azureError("429", "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current pricing tier. Please retry after 6 seconds.");
  return azureError("InternalServerError", "The server had an error while processing your request. Sorry about that!");
}

const DEPLOYMENT_PATH = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/;

interface ChatBody {
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  tools?: unknown[];
  messages?: { role?: string }[];
}

/**
 * Azure OpenAI: the resource root is the base (no path prefix), `api-key` auth, both the
 * per-deployment path (api-version required) and the v1 path. Replays Azure's recorded
 * text reply and stream (content-filter annotations, the empty-id first chunk). No Azure
 * chat tool-call recording exists; Azure's chat wire format is OpenAI's, so tool turns
 * replay the recorded OpenAI tool calls.
 */
export const azurePersonality: MockPersonality = {
  basePath: "",
  authorize(req) {
    const key = headerValue(req.headers, "api-key");
    if (key !== undefined && key !== "") return null;
    return { status: 401, body: azureErrorBody(401) };
  },
  errorBody: azureErrorBody,
  async handle(ctx) {
    const { req, res, rec } = ctx;
    const deployment = DEPLOYMENT_PATH.exec(ctx.path);
    const v1 = ctx.path === "/openai/v1/chat/completions";
    if (req.method !== "POST" || (!deployment && !v1)) {
      sendJson(res, 404, azureError("404", "Resource not found"));
      return;
    }
    // The classic path refuses a request without api-version, as Azure does.
    if (deployment && !new URLSearchParams(rec.query).get("api-version")) {
      sendJson(res, 404, azureError("404", "Resource not found"));
      return;
    }
    if (typeof rec.body !== "object" || rec.body === null) {
      sendJson(res, 400, azureError("BadRequest", "We could not parse the JSON body of your request."));
      return;
    }
    const body = rec.body as ChatBody;
    const fx = loadAzureFixtures();
    const openai = loadFixtures();
    const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
    const turn = body.messages?.some((m) => m.role === "tool") ? 1 : 0;
    if (body.stream === true) {
      const raw = hasTools ? (openai.toolCallStream[turn]?.responseBody ?? fx.textStream) : fx.textStream;
      const includeUsage = body.stream_options?.include_usage === true;
      const events = splitSseEvents(raw).filter((e) => includeUsage || !isUsageOnlyEvent(e));
      await writeFrames(ctx, events.map((e) => `${e}\n\n`));
      return;
    }
    await sendRecordedJson(ctx, hasTools ? (openai.toolCall[turn]?.responseBody ?? fx.text) : fx.text);
  },
};
