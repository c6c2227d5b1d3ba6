import { openAiAdapter, type OpenAiStreamState } from "../openai";
import type { ProviderAdapter } from "../types";
import { prepareAzureChatRequest } from "./chat";
import { classifyAzureError } from "./errors";

export { AZURE_DEFAULT_API_VERSION, azureChatUrl, azureHeaders } from "./api";
export { prepareAzureChatRequest } from "./chat";
export { classifyAzureError } from "./errors";

/**
 * Azure OpenAI: the OpenAI base with Azure's URL and `api-key` header. Replies are
 * OpenAI's shape plus Azure's content_filter_results / prompt_filter_results, which are
 * forwarded untouched (including the stream's first chunk with an empty id and model).
 */
export const azureAdapter = {
  // Replies, streams and usage are the OpenAI base's; only the request and errors differ.
  ...openAiAdapter,
  types: ["azure"],
  // Every Azure resource has its own host.
  defaultBaseUrl: null,
  prepareChatRequest: prepareAzureChatRequest,
  classifyError: classifyAzureError,
} satisfies ProviderAdapter<OpenAiStreamState>;
