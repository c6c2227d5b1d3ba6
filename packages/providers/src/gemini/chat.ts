import type { ChatCompletion, ChatCompletionRequest, ChatToolCall } from "@switchyard/contracts";
import { resolveBaseUrl } from "../openai/api";
import type { PreparedChatRequest, UpstreamTarget } from "../types";
import { geminiHeaders, geminiUrl } from "./api";
import { toGeminiResponseJsonSchema, toGeminiSchema } from "./schema";
import { extractGeminiChatUsage, toOpenAiUsage } from "./usage";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** A Gemini `Part` (only the members we write or read). */
export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: { name: string; args?: Json; id?: string };
  functionResponse?: { name: string; response: Json };
}

interface GeminiContent {
  role: "user" | "model";
  parts: GeminiPart[];
}

/**
 * Gemini 3 answers 400 when a replayed functionCall part lacks the thoughtSignature it
 * was issued with. OpenAI clients keep it when they send the assistant message back as
 * received (we put it in `extra_content.google.thought_signature`, as Google's own
 * OpenAI-compatible endpoint does); when a client rebuilt the message and lost it, this
 * documented placeholder tells Gemini to skip the check instead of failing the turn.
 */
export const SKIP_THOUGHT_SIGNATURE = "skip_thought_signature_validator";

/** Extension → MIME type for image/audio/document URLs (Gemini's fileData wants one). */
const MIME_BY_EXTENSION: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
  pdf: "application/pdf",
  mp3: "audio/mp3",
  wav: "audio/wav",
  mp4: "video/mp4",
  txt: "text/plain",
};

/** The MIME type a URL's extension implies (query and fragment ignored); JPEG when unknown. */
export function guessMimeType(url: string): string {
  let pathname = url;
  try {
    pathname = new URL(url).pathname;
  } catch {
    // not a URL: use it as a path
  }
  const ext = /\.([a-z0-9]+)$/i.exec(pathname)?.[1]?.toLowerCase();
  return (ext && MIME_BY_EXTENSION[ext]) ?? "image/jpeg";
}

/** `data:<mime>;base64,<data>` → inlineData; null when it is not a base64 data URL. */
function inlineDataOf(url: string): GeminiPart | null {
  const m = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (!m) return null;
  return { inlineData: { mimeType: m[1] ?? "application/octet-stream", data: m[2] ?? "" } };
}

function mediaPart(url: string): GeminiPart {
  return inlineDataOf(url) ?? { fileData: { mimeType: guessMimeType(url), fileUri: url } };
}

/** Text of a message content (string or text parts); other parts are not text. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter(isObject)
    .map((p) => (p.type === "text" ? (str(p.text) ?? "") : p.type === "refusal" ? (str(p.refusal) ?? "") : ""))
    .join("");
}

/** User content parts → Gemini parts; unknown part types are reported as dropped. */
function userParts(content: unknown, dropped: Set<string>): GeminiPart[] {
  if (typeof content === "string") return [{ text: content }];
  if (!Array.isArray(content)) return [];
  const parts: GeminiPart[] = [];
  for (const p of content) {
    if (!isObject(p)) continue;
    if (p.type === "text") parts.push({ text: str(p.text) ?? "" });
    else if (p.type === "image_url") {
      const url = isObject(p.image_url) ? str(p.image_url.url) : str(p.image_url);
      if (url) parts.push(mediaPart(url));
    } else if (p.type === "input_audio" && isObject(p.input_audio)) {
      const format = str(p.input_audio.format) ?? "wav";
      parts.push({ inlineData: { mimeType: `audio/${format}`, data: str(p.input_audio.data) ?? "" } });
    } else if (p.type === "file" && isObject(p.file) && typeof p.file.file_data === "string") {
      parts.push(mediaPart(p.file.file_data));
    } else dropped.add(`messages.content.${String(p.type)}`);
  }
  return parts;
}

interface OpenAiToolCallIn {
  id?: string;
  function?: { name?: string; arguments?: string };
  extra_content?: { google?: { thought_signature?: string } };
}

function parseArgs(raw: string | undefined): Json {
  if (!raw) return {};
  try {
    const v: unknown = JSON.parse(raw);
    return isObject(v) ? v : { value: v };
  } catch {
    // Gemini needs an object; an unparseable string survives rather than vanishing.
    return { arguments: raw };
  }
}

/** A tool result as Gemini's functionResponse.response (a JSON object). */
function toolResponse(content: unknown): Json {
  const text = textOf(content);
  try {
    return { content: JSON.parse(text) as unknown };
  } catch {
    return { result: text };
  }
}

interface Translated {
  systemInstruction?: { parts: GeminiPart[] };
  contents: GeminiContent[];
}

/**
 * OpenAI messages → Gemini contents. System and developer messages (wherever they are)
 * form the systemInstruction; user and tool turns are "user", assistant turns "model";
 * consecutive turns of one role are merged (several tool results answer one model turn).
 */
export function translateMessages(messages: readonly Json[], upstreamModel: string, dropped: Set<string>): Translated {
  const system: GeminiPart[] = [];
  const contents: GeminiContent[] = [];
  const toolNames = new Map<string, string>();
  const needsSignature = /gemini-3/i.test(upstreamModel);
  const push = (role: GeminiContent["role"], parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const m of messages) {
    switch (m.role) {
      case "system":
      case "developer": {
        const text = textOf(m.content);
        if (text) system.push({ text });
        break;
      }
      case "user":
        push("user", userParts(m.content, dropped));
        break;
      case "assistant": {
        const parts: GeminiPart[] = [];
        const text = textOf(m.content);
        if (text) parts.push({ text });
        const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as OpenAiToolCallIn[]) : [];
        calls.forEach((call, i) => {
          const name = call.function?.name ?? "";
          if (call.id) toolNames.set(call.id, name);
          const part: GeminiPart = { functionCall: { name, args: parseArgs(call.function?.arguments) } };
          const signature = call.extra_content?.google?.thought_signature;
          if (signature) part.thoughtSignature = signature;
          else if (needsSignature && i === 0) part.thoughtSignature = SKIP_THOUGHT_SIGNATURE;
          parts.push(part);
        });
        push("model", parts);
        break;
      }
      case "tool": {
        const id = str(m.tool_call_id) ?? "";
        // Gemini matches results to calls by name; the id only exists on our side.
        const name = toolNames.get(id) ?? str(m.name) ?? id;
        push("user", [{ functionResponse: { name, response: toolResponse(m.content) } }]);
        break;
      }
      case "function":
        push("user", [{ functionResponse: { name: str(m.name) ?? "", response: toolResponse(m.content) } }]);
        break;
      default:
        break;
    }
  }
  return { systemInstruction: system.length > 0 ? { parts: system } : undefined, contents };
}

interface OpenAiTool {
  type?: string;
  function?: { name?: string; description?: string; parameters?: unknown };
}

function translateTools(tools: unknown, dropped: Set<string>): Json[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  const declarations: Json[] = [];
  for (const t of tools as OpenAiTool[]) {
    if (t.type !== "function" || !t.function?.name) {
      dropped.add(`tools.${t.type ?? "unknown"}`);
      continue;
    }
    const decl: Json = { name: t.function.name };
    if (t.function.description) decl.description = t.function.description;
    const parameters = toGeminiSchema(t.function.parameters);
    if (parameters) decl.parameters = parameters;
    declarations.push(decl);
  }
  return declarations.length > 0 ? [{ functionDeclarations: declarations }] : undefined;
}

function translateToolChoice(choice: unknown): Json | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } };
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } };
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") {
    return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
  }
  return undefined;
}

function translateResponseFormat(format: unknown, config: Json): void {
  if (!isObject(format)) return;
  if (format.type === "json_object") config.responseMimeType = "application/json";
  else if (format.type === "json_schema") {
    config.responseMimeType = "application/json";
    // responseJsonSchema takes JSON Schema as is (additionalProperties, $ref…), unlike responseSchema's OpenAPI subset.
    const schema = isObject(format.json_schema) ? toGeminiResponseJsonSchema(format.json_schema.schema) : undefined;
    if (schema) config.responseJsonSchema = schema;
  }
}

/** Request fields consumed by the translation (mapped, or part of the envelope). */
const HANDLED = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "tools",
  "tool_choice",
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "stop",
  "seed",
  "n",
  "presence_penalty",
  "frequency_penalty",
  "response_format",
  "parallel_tool_calls",
]);

/**
 * The OpenAI request as a Gemini generateContent / streamGenerateContent call.
 * Parameters Gemini has no equivalent for are left out and listed in droppedParams.
 */
export function prepareGeminiChatRequest(request: ChatCompletionRequest, target: UpstreamTarget, defaultBaseUrl: string | null): PreparedChatRequest {
  const r = request as Json;
  const stream = request.stream === true;
  const dropped = new Set<string>();
  const { systemInstruction, contents } = translateMessages(request.messages, target.upstreamModel, dropped);

  const config: Json = {};
  if (typeof r.temperature === "number") config.temperature = r.temperature;
  if (typeof r.top_p === "number") config.topP = r.top_p;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (typeof maxTokens === "number") config.maxOutputTokens = maxTokens;
  if (typeof r.stop === "string") config.stopSequences = [r.stop];
  else if (Array.isArray(r.stop) && r.stop.length > 0) config.stopSequences = r.stop;
  if (typeof r.seed === "number") config.seed = r.seed;
  if (typeof request.n === "number") config.candidateCount = request.n;
  if (typeof r.presence_penalty === "number") config.presencePenalty = r.presence_penalty;
  if (typeof r.frequency_penalty === "number") config.frequencyPenalty = r.frequency_penalty;
  translateResponseFormat(r.response_format, config);

  const body: Json = { contents };
  if (systemInstruction) body.systemInstruction = systemInstruction;
  const tools = translateTools(r.tools, dropped);
  if (tools) {
    body.tools = tools;
    const toolConfig = translateToolChoice(r.tool_choice);
    if (toolConfig) body.toolConfig = toolConfig;
  }
  if (Object.keys(config).length > 0) body.generationConfig = config;

  // Gemini may call several functions at once and has no switch to forbid it.
  if (r.parallel_tool_calls === false) dropped.add("parallel_tool_calls");
  for (const [key, value] of Object.entries(r)) if (!HANDLED.has(key) && value !== undefined && value !== null) dropped.add(key);

  return {
    http: {
      url: geminiUrl(resolveBaseUrl(target, defaultBaseUrl), target.upstreamModel, stream),
      method: "POST",
      headers: geminiHeaders(target, stream),
      body: JSON.stringify(body),
    },
    stream,
    // Gemini reports usage on every stream chunk; nothing to ask for.
    clientWantsUsage: stream && request.stream_options?.include_usage === true,
    droppedParams: [...dropped],
  };
}

/* ------------------------------------------------------------------ responses */

type FinishReason = ChatCompletion["choices"][number]["finish_reason"];

const CONTENT_FILTER_REASONS = new Set(["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"]);

/** Gemini finishReason → OpenAI's; STOP after a function call is "tool_calls" (Gemini has no such reason). */
export function mapFinishReason(reason: string, sawToolCall: boolean): NonNullable<FinishReason> {
  if (reason === "MAX_TOKENS") return "length";
  if (CONTENT_FILTER_REASONS.has(reason)) return "content_filter";
  return sawToolCall ? "tool_calls" : "stop";
}

/**
 * Gemini gives function calls no ids (unless it sends `functionCall.id`); ours must be
 * stable (the stream and the non-stream reply agree) and unique across turns, so they
 * derive from the response id and the call's position.
 */
export function toolCallId(responseId: string | undefined, candidateIndex: number, position: number, given: string | undefined): string {
  if (given) return given;
  const scope = responseId ? `${responseId}_` : "";
  return candidateIndex === 0 ? `call_${scope}${position}` : `call_${scope}${candidateIndex}_${position}`;
}

/** OpenAI tool call plus the thought signature, where Google's OpenAI endpoint puts it. */
export type GeminiToolCall = ChatToolCall & { extra_content?: { google: { thought_signature: string } } };

export function toOpenAiToolCall(part: GeminiPart & { functionCall: NonNullable<GeminiPart["functionCall"]> }, id: string): GeminiToolCall {
  const call: GeminiToolCall = {
    id,
    type: "function",
    function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
  };
  if (part.thoughtSignature) call.extra_content = { google: { thought_signature: part.thoughtSignature } };
  return call;
}

export interface GeminiCandidate {
  index?: number;
  content?: { parts?: GeminiPart[] };
  finishReason?: string;
}

export interface GeminiResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: unknown;
  modelVersion?: string;
  responseId?: string;
  createTime?: string;
  error?: unknown;
}

function createdOf(body: GeminiResponse): number {
  const t = body.createTime ? Date.parse(body.createTime) : NaN;
  return Math.floor((Number.isFinite(t) ? t : Date.now()) / 1000);
}

/** A non-streaming generateContent reply as an OpenAI chat completion. */
export function translateGeminiChatResponse(raw: unknown, ctx: { model: string }): ChatCompletion {
  const body: GeminiResponse = isObject(raw) ? raw : {};
  const candidates = Array.isArray(body.candidates) ? body.candidates : [];
  const choices: ChatCompletion["choices"] = candidates.map((c, i) => {
    const index = c.index ?? i;
    let text = "";
    let reasoning = "";
    const toolCalls: GeminiToolCall[] = [];
    for (const part of c.content?.parts ?? []) {
      if (part.functionCall) toolCalls.push(toOpenAiToolCall({ ...part, functionCall: part.functionCall }, toolCallId(body.responseId, index, toolCalls.length, part.functionCall.id)));
      else if (typeof part.text === "string") {
        if (part.thought === true) reasoning += part.text;
        else text += part.text;
      }
    }
    const message: ChatCompletion["choices"][number]["message"] = { role: "assistant", content: text !== "" ? text : null };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    if (reasoning) message.reasoning_content = reasoning;
    return { index, message, finish_reason: c.finishReason ? mapFinishReason(c.finishReason, toolCalls.length > 0) : null, logprobs: null };
  });
  // A blocked prompt has no candidates at all, only promptFeedback.blockReason.
  if (choices.length === 0 && body.promptFeedback?.blockReason) {
    choices.push({ index: 0, message: { role: "assistant", content: null }, finish_reason: "content_filter", logprobs: null });
  }
  const usage = extractGeminiChatUsage(body);
  const completion: ChatCompletion = {
    id: `chatcmpl-${body.responseId ?? "gemini"}`,
    object: "chat.completion",
    created: createdOf(body),
    model: ctx.model,
    choices,
    system_fingerprint: null,
  };
  if (usage) completion.usage = toOpenAiUsage(usage);
  return completion;
}
