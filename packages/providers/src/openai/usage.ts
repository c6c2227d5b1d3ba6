import { openAiUsageSchema, type TokenUsage } from "@switchyard/contracts";
import { topLevelMember } from "../json-member";

/** OpenAI's usage object → TokenUsage; null when it is missing or malformed. */
export function toTokenUsage(usage: unknown): TokenUsage | null {
  if (usage == null) return null;
  const fast = plainUsage(usage);
  if (fast) return fast;
  const parsed = openAiUsageSchema.safeParse(usage);
  if (!parsed.success) return null;
  const u = parsed.data;
  return {
    inputTokens: u.prompt_tokens,
    outputTokens: u.completion_tokens,
    cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteTokens: 0,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

/** Usage of a non-streaming chat completion body. */
export function extractOpenAiChatUsage(body: unknown): TokenUsage | null {
  if (typeof body !== "object" || body === null || !("usage" in body)) return null;
  return toTokenUsage(body.usage);
}

/**
 * Usage of a non-streaming chat completion read from its bytes: what
 * extractOpenAiChatUsage finds in the parsed body, without parsing the rest.
 * `undefined` when the bytes are not read as one JSON object (see topLevelMember):
 * the caller parses them whole and decides.
 */
export function extractOpenAiChatUsageFromBytes(body: Buffer): TokenUsage | null | undefined {
  const text = topLevelMember(body, "usage");
  if (text === null) return undefined;
  if (text === undefined) return null;
  try {
    return toTokenUsage(JSON.parse(text));
  } catch {
    return undefined;
  }
}

const count = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const countOrNothing = (v: unknown): boolean => v == null || count(v);
function detailsOk(d: unknown, field: string): boolean {
  if (d == null) return true;
  return typeof d === "object" && !Array.isArray(d) && countOrNothing((d as Record<string, unknown>)[field]);
}

/**
 * The common case without zod (it runs on every response): a usage object whose fields
 * are all plain counts. It accepts only what openAiUsageSchema accepts, so anything
 * else (a missing or odd field) goes to the schema, whose answer stands.
 */
function plainUsage(usage: unknown): TokenUsage | null {
  if (typeof usage !== "object" || usage === null || Array.isArray(usage)) return null;
  const u = usage as Record<string, unknown>;
  const input = u.prompt_tokens;
  const output = u.completion_tokens;
  if (!count(input) || !count(output) || (u.total_tokens !== undefined && !count(u.total_tokens))) return null;
  const pd = u.prompt_tokens_details as { cached_tokens?: number | null } | null | undefined;
  const cd = u.completion_tokens_details as { reasoning_tokens?: number | null } | null | undefined;
  if (!detailsOk(pd, "cached_tokens") || !detailsOk(cd, "reasoning_tokens")) return null;
  return { inputTokens: input, outputTokens: output, cachedInputTokens: pd?.cached_tokens ?? 0, cacheWriteTokens: 0, reasoningTokens: cd?.reasoning_tokens ?? 0 };
}
