import type { ChatCompletionRequest } from "@switchyard/contracts";
import type { PreparedChatRequest, UpstreamTarget } from "../types";
import { openAiHeaders, openAiUrl, resolveBaseUrl } from "./api";

/**
 * The client's body is already OpenAI's shape: keep every field (new parameters work
 * without a release), swap in the upstream model name, and for streams always ask for
 * the usage chunk (remembering whether the client asked, see PreparedChatRequest).
 */
export function prepareOpenAiChatRequest(
  request: ChatCompletionRequest,
  target: UpstreamTarget,
  defaultBaseUrl: string | null,
): PreparedChatRequest {
  const stream = request.stream === true;
  const clientWantsUsage = stream && request.stream_options?.include_usage === true;
  const body: Record<string, unknown> = { ...request, model: target.upstreamModel };
  if (stream) body.stream_options = { ...(request.stream_options ?? {}), include_usage: true };
  return {
    http: {
      url: openAiUrl(resolveBaseUrl(target, defaultBaseUrl), "/chat/completions"),
      method: "POST",
      headers: openAiHeaders(target, stream),
      body: JSON.stringify(body),
    },
    stream,
    clientWantsUsage,
    droppedParams: [],
  };
}
