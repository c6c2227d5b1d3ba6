import { classifyUpstreamError } from "../errors";
import { parseOpenAiErrorBody } from "../openai";
import type { UpstreamErrorInfo } from "../types";

/** True when Azure's error body says its content filter refused the prompt. */
function isContentFilterRefusal(bodyText: string, code: string | null): boolean {
  if (code === "content_filter") return true;
  try {
    const body = JSON.parse(bodyText) as { error?: { innererror?: { code?: unknown } } };
    return body.error?.innererror?.code === "ResponsibleAIPolicyViolation";
  } catch {
    return false;
  }
}

/**
 * Azure's envelope is OpenAI's `{"error":{…}}` (code is sometimes the status as a
 * string, e.g. "429"); a 400 from the content filter (`content_filter` /
 * `ResponsibleAIPolicyViolation`) is content_filtered, never retried elsewhere blindly.
 */
export function classifyAzureError(status: number, bodyText: string): UpstreamErrorInfo {
  const parsed = parseOpenAiErrorBody(bodyText);
  if (status === 400 && isContentFilterRefusal(bodyText, parsed.code)) return classifyUpstreamError(status, parsed, "content_filtered");
  return classifyUpstreamError(status, parsed);
}
