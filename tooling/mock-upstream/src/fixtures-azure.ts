import { readFixture } from "./fixtures";

/** Recorded Azure OpenAI chat payloads (attribution in fixtures/SOURCES.md). */
export const azureFixtureFiles = {
  text: "azure__chat-text-content-filter-results__helicone.json",
  textStream: "azure__chat-text-stream-sse__helicone.sse",
} as const;

export interface AzureFixtures {
  /** Raw bytes of a chat completion with content_filter_results and prompt_filter_results (finish_reason length). */
  text: string;
  /**
   * Raw SSE of a chat stream: a first chunk with empty id/model holding only
   * prompt_filter_results, content_filter_results on every chunk, a usage-only chunk, [DONE].
   */
  textStream: string;
}

let cached: AzureFixtures | undefined;

export function loadAzureFixtures(): AzureFixtures {
  cached ??= { text: readFixture(azureFixtureFiles.text), textStream: readFixture(azureFixtureFiles.textStream) };
  return cached;
}

/**
 * Azure's documented 400 for a prompt its content filter blocked (no public recording
 * exists; shape from Azure OpenAI's REST reference: code content_filter, param prompt,
 * innererror ResponsibleAIPolicyViolation with the category results).
 */
export const AZURE_CONTENT_FILTER_ERROR = JSON.stringify({
  error: {
    message:
      "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
    type: null,
    param: "prompt",
    code: "content_filter",
    status: 400,
    innererror: {
      code: "ResponsibleAIPolicyViolation",
      content_filter_result: {
        hate: { filtered: false, severity: "safe" },
        jailbreak: { filtered: false, detected: false },
        self_harm: { filtered: false, severity: "safe" },
        sexual: { filtered: false, severity: "safe" },
        violence: { filtered: true, severity: "medium" },
      },
    },
  },
});
