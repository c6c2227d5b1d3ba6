import { formatFunctionDefinitions, type ChatCompletionFunctionDefinition } from "gpt-tokenizer/functionCalling";
import type { ChatCompletionRequest } from "@switchyard/contracts";
import { loadedEncoding, loadEncoding, type TextEncoder } from "./encodings";
import { tokenizerProfile, type EncodingName, type ModelFamily, type TokenizerProfile } from "./families";
import { estimateImageTokens, imageSizeFromDataUrl, type ImageDetail } from "./images";

/**
 * How far a count can be trusted:
 * - exact: the model's own tokenizer and OpenAI's documented chat framing (text, names);
 * - approximate: OpenAI's tokenizer, but parts of the prompt are rendered by the provider
 *   in ways it does not publish (tool definitions, tool calls, images, schemas, files);
 *   checked against recorded usage, see README.md;
 * - estimate: another vendor's model, counted with a proxy tokenizer (± marginPct).
 */
export type CountAccuracy = "exact" | "approximate" | "estimate";

export interface ChatTokenCount {
  /** Input (prompt) tokens the provider is expected to bill. */
  tokens: number;
  accuracy: CountAccuracy;
  family: ModelFamily;
  encoding: EncodingName;
  /** Expected relative error bound in percent for `estimate` (0 otherwise). */
  marginPct: number;
  breakdown: {
    /** Messages incl. per-message framing and the reply primer. */
    messages: number;
    /** Tool/function definitions and tool_choice. */
    tools: number;
    /** Image parts (vendor sizing rules; see images.ts). */
    images: number;
    imageCount: number;
  };
}

/**
 * Calibrated on o200k_base against recorded gpt-4o / gpt-4o-mini usage (README.md):
 * with tools present OpenAI adds 8 tokens (9 on cl100k_base, per gpt-tokenizer's
 * calibration); each assistant tool call costs its name, arguments and 8 framing tokens.
 */
const TOOLS_OVERHEAD: Record<EncodingName, number> = { o200k_base: 8, cl100k_base: 9 };
const TOOL_CALL_OVERHEAD = 8;
/** Legacy `function_call` on an assistant message (gpt-tokenizer's calibration). */
const FUNCTION_CALL_OVERHEAD = 3;
/** Anthropic's documented hidden system prompt for tool use (Claude 4 family, tool_choice auto). */
const ANTHROPIC_TOOL_SYSTEM_PROMPT = 346;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** `tools` (type function) and legacy `functions`, as function definitions. */
function functionDefinitions(request: Json): ChatCompletionFunctionDefinition[] {
  const defs: ChatCompletionFunctionDefinition[] = [];
  const add = (f: unknown) => {
    if (!isObj(f) || typeof f.name !== "string") return;
    // Arbitrary JSON Schema: the formatter renders what it knows and "any" for the rest.
    defs.push({ name: f.name, description: typeof f.description === "string" ? f.description : undefined, parameters: f.parameters as ChatCompletionFunctionDefinition["parameters"] });
  };
  if (Array.isArray(request.tools)) for (const t of request.tools) if (isObj(t)) add(t.function);
  if (Array.isArray(request.functions)) for (const f of request.functions) add(f);
  return defs;
}

function namedChoice(choice: unknown): string | null {
  if (!isObj(choice)) return null;
  if (isObj(choice.function) && typeof choice.function.name === "string") return choice.function.name;
  return typeof choice.name === "string" ? choice.name : null;
}

/** Counts with an already loaded encoder (synchronous: use it on hot paths after `loadEncoding`). */
export function countChatInputTokensWith(encoder: TextEncoder, request: ChatCompletionRequest, model: string, providerType?: string): ChatTokenCount {
  const profile: TokenizerProfile = tokenizerProfile(model, providerType);
  const count = (text: string) => encoder.countTokens(text);
  const body = request as Json;
  const defs = functionDefinitions(body);
  const hasTools = defs.length > 0;
  let approximate = hasTools;

  let text = 0;
  let images = 0;
  let imageCount = 0;
  let paddedSystem = false;
  for (const message of request.messages) {
    const m = message as Json;
    const role = str(m.role);
    text += profile.perMessage + (profile.perMessage > 0 ? count(role) : 0);
    if (typeof m.content === "string") {
      // With tools, the first system message gets a trailing newline before the definitions.
      const pad = hasTools && !paddedSystem && role === "system" && !m.content.endsWith("\n");
      if (role === "system" && hasTools) paddedSystem = true;
      text += count(pad ? `${m.content}\n` : m.content);
    } else if (Array.isArray(m.content)) {
      for (const part of m.content as unknown[]) {
        if (!isObj(part)) continue;
        if (typeof part.text === "string") text += count(part.text);
        else if (typeof part.refusal === "string") text += count(part.refusal);
        else if (part.type === "image_url" || part.type === "input_image") {
          const image = isObj(part.image_url) ? part.image_url : part;
          const url = str(image.url ?? image.image_url);
          const detail = (["low", "high", "auto"] as const).find((d) => d === image.detail) ?? ("auto" satisfies ImageDetail);
          images += estimateImageTokens(model, imageSizeFromDataUrl(url), detail);
          imageCount++;
          approximate = true;
        } else {
          // Audio and file parts: their size is not knowable from the request alone.
          approximate = true;
        }
      }
    }
    if (typeof m.name === "string") text += count(m.name) + 1;
    if (Array.isArray(m.tool_calls)) {
      approximate = true;
      for (const call of m.tool_calls as unknown[]) {
        const fn = isObj(call) && isObj(call.function) ? call.function : {};
        text += count(str(fn.name)) + count(str(fn.arguments)) + TOOL_CALL_OVERHEAD;
      }
    }
    if (isObj(m.function_call)) {
      approximate = true;
      text += count(str(m.function_call.name)) + count(str(m.function_call.arguments)) + FUNCTION_CALL_OVERHEAD;
    }
    if (role === "function" && profile.perMessage > 0) text -= 2;
  }
  text += profile.replyPrimer;

  let tools = 0;
  if (hasTools) {
    tools += count(formatFunctionDefinitions(defs)) + TOOLS_OVERHEAD[encoder.name];
    // Definitions join an existing system message instead of opening their own.
    if (profile.perMessage > 0 && request.messages.some((m) => m.role === "system" || m.role === "developer")) tools -= 4;
    const choice = body.tool_choice ?? body.function_call;
    const named = namedChoice(choice);
    if (choice === "none") tools += 1;
    else if (named !== null) tools += count(named) + 4;
  }
  // A JSON schema for structured output is shown to the model too; its rendering is unpublished.
  if (isObj(body.response_format) && isObj(body.response_format.json_schema)) {
    approximate = true;
    tools += count(JSON.stringify(body.response_format.json_schema.schema ?? {}));
  }

  const scale = (n: number) => (profile.factor === 1 ? n : Math.ceil(n * profile.factor));
  const messages = scale(text);
  tools = scale(tools) + (profile.family === "anthropic" && hasTools ? ANTHROPIC_TOOL_SYSTEM_PROMPT : 0);
  return {
    tokens: messages + tools + images,
    accuracy: profile.exactEncoding ? (approximate ? "approximate" : "exact") : "estimate",
    family: profile.family,
    encoding: encoder.name,
    marginPct: profile.marginPct,
    breakdown: { messages, tools, images, imageCount },
  };
}

/**
 * Input tokens of a chat request for `model` (the upstream model name), loading the
 * tokenizer on first use. `providerType` classifies model names no family matches.
 */
export async function countChatInputTokens(request: ChatCompletionRequest, model: string, providerType?: string): Promise<ChatTokenCount> {
  const encoder = await loadEncoding(tokenizerProfile(model, providerType).encoding);
  return countChatInputTokensWith(encoder, request, model, providerType);
}

/**
 * Just the number: what the proxy records (usageSource "estimated") when a provider reports
 * no usage, and what it counts against TPM limits up front. A plain number once the
 * tokenizer is loaded (every request after the first, or all of them after a preload):
 * the request path then pays for no promise chain; a promise only while it loads.
 */
export function estimateChatInputTokens(request: ChatCompletionRequest, model: string, providerType?: string): number | Promise<number> {
  const encoder = loadedEncoding(tokenizerProfile(model, providerType).encoding);
  if (encoder) return countChatInputTokensWith(encoder, request, model, providerType).tokens;
  return countChatInputTokens(request, model, providerType).then((c) => c.tokens);
}
