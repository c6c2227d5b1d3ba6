import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError, chatCompletionRequestSchema } from "@switchyard/contracts";
import type { RequestContext, RouteDeps } from "../context";
import { formatParam } from "../http";
import { admitRequest } from "./chat-core";
import { serveChat, type ChatFormat } from "./chat-serve";

/** OpenAI clients get OpenAI's bytes: the OpenAI family's reply as sent, others translated. */
const OPENAI_FORMAT: ChatFormat = {
  forwardsProviderBytes: true,
  renderJson: (completion) => completion,
};

/** POST /v1/chat/completions: the client's body already is the canonical request. */
export async function handleChatCompletions(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, deps: RouteDeps): Promise<void> {
  ctx.endpoint = "chat.completions";
  const json = await admitRequest(req, ctx, deps);
  const parsed = chatCompletionRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue ? formatParam(issue.path) : null;
    throw new AppError("invalid_request", `Invalid request: ${param ? `${param}: ` : ""}${issue?.message ?? "invalid body"}`, { param });
  }
  await serveChat(req, res, ctx, deps, parsed.data, OPENAI_FORMAT);
}
