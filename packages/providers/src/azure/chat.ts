import type { ChatCompletionRequest } from "@switchyard/contracts";
import { buildOpenAiChatBody } from "../openai";
import type { PreparedChatRequest, UpstreamTarget } from "../types";
import { azureChatUrl, azureHeaders } from "./api";

/**
 * Azure OpenAI speaks OpenAI's chat wire format (stream_options included since
 * 2024-10-21), so the body is the OpenAI base's; only the URL and the key header differ.
 */
export function prepareAzureChatRequest(request: ChatCompletionRequest, target: UpstreamTarget): PreparedChatRequest {
  const { body, stream, clientWantsUsage } = buildOpenAiChatBody(request, target);
  return {
    http: { url: azureChatUrl(target), method: "POST", headers: azureHeaders(target, stream), body: JSON.stringify(body) },
    stream,
    clientWantsUsage,
    droppedParams: [],
  };
}
