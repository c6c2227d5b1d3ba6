import { AppError, type ChatCompletion, type ChatCompletionRequest, type ChatToolCall } from "@switchyard/contracts";
import type { PreparedChatRequest, UpstreamTarget } from "../types";
import { anthropicHeaders, anthropicMessagesUrl } from "./api";
import { extractAnthropicChatUsage, toOpenAiUsage } from "./usage";

/**
 * Anthropic requires max_tokens; OpenAI does not. When the client sets neither
 * max_tokens nor max_completion_tokens we ask for 4096, which every Claude model
 * since Claude 3 accepts (Claude 3 Haiku/Opus cap output at 4096).
 */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/**
 * `response_format` is carried as a forced tool whose input schema is the requested
 * schema; its tool_use input is turned back into the message content (as a JSON
 * string). The name is reserved: a client tool with this name is refused.
 */
export const JSON_RESPONSE_TOOL = "switchyard_json_response";

/** Parameters Anthropic has no equivalent for: left out and reported in x-switchyard-dropped-params. */
const DROPPED_PARAMS = [
  "seed",
  "frequency_penalty",
  "presence_penalty",
  "logprobs",
  "top_logprobs",
  "logit_bias",
  "service_tier",
  "store",
  "prediction",
  "modalities",
  "audio",
  "reasoning_effort",
  "verbosity",
  "web_search_options",
] as const;

const DROPPED: ReadonlySet<string> = new Set(DROPPED_PARAMS);

/** Fields we translate or consume ourselves; anything else unknown is dropped and reported. */
const HANDLED = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "n",
  "temperature",
  "top_p",
  "stop",
  "user",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "response_format",
  // Anthropic-only extras some clients send through OpenAI-shaped gateways: passed as is.
  "top_k",
  "thinking",
  ...DROPPED_PARAMS,
]);

type Json = Record<string, unknown>;
type AnthropicBlock = Json & { type: string };
interface AnthropicMessage {
  role: "user" | "assistant";
  content: AnthropicBlock[];
}

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const refuse = (message: string, param: string) => new AppError("invalid_request", message, { param });

/** Text of OpenAI content (a string or text parts); other part types are refused where text is required. */
function textOf(content: unknown, param: string): string {
  if (typeof content === "string") return content;
  if (content == null) return "";
  if (!Array.isArray(content)) throw refuse(`${param} must be a string or an array of content parts.`, param);
  return content
    .map((part, i) => {
      if (isObj(part) && part.type === "text" && typeof part.text === "string") return part.text;
      throw refuse(`${param}[${i}]: only text parts are supported here for Anthropic.`, `${param}[${i}]`);
    })
    .join("");
}

/** `data:image/png;base64,AAAA` → Anthropic's base64 source; an http(s) URL → a url source. */
function imageSource(url: string, param: string): Json {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (m) return { type: "base64", media_type: m[1], data: m[2] };
  if (/^https?:\/\//i.test(url)) return { type: "url", url };
  throw refuse(`${param}: image_url.url must be an http(s) URL or a base64 data: URL.`, param);
}

function userBlocks(content: unknown, param: string): AnthropicBlock[] {
  // Anthropic rejects empty text blocks; a turn left empty is skipped.
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) throw refuse(`${param} must be a string or an array of content parts.`, param);
  return content.map((part, i): AnthropicBlock => {
    const p = `${param}[${i}]`;
    if (!isObj(part)) throw refuse(`${p} must be an object.`, p);
    if (part.type === "text" && typeof part.text === "string") {
      // Prompt-caching markers (OpenRouter-style) carry over unchanged.
      return isObj(part.cache_control) ? { type: "text", text: part.text, cache_control: part.cache_control } : { type: "text", text: part.text };
    }
    if (part.type === "image_url") {
      const image = part.image_url;
      const url = typeof image === "string" ? image : isObj(image) && typeof image.url === "string" ? image.url : null;
      if (url === null) throw refuse(`${p}.image_url.url is required.`, p);
      return { type: "image", source: imageSource(url, p) };
    }
    throw refuse(`${p}: content part type "${String(part.type)}" is not supported by Anthropic models.`, p);
  });
}

/** OpenAI tool call → tool_use; arguments must be a JSON object ("" means no arguments). */
function toolUseBlock(call: unknown, param: string): AnthropicBlock {
  if (!isObj(call) || !isObj(call.function) || typeof call.id !== "string" || typeof call.function.name !== "string") {
    throw refuse(`${param} must have an id and function.name.`, param);
  }
  const args = call.function.arguments;
  let input: unknown = {};
  if (typeof args === "string" && args.trim() !== "") {
    try {
      input = JSON.parse(args);
    } catch {
      throw refuse(`${param}.function.arguments is not valid JSON.`, `${param}.function.arguments`);
    }
  }
  if (!isObj(input)) throw refuse(`${param}.function.arguments must be a JSON object for Anthropic.`, `${param}.function.arguments`);
  return { type: "tool_use", id: call.id, name: call.function.name, input };
}

/** tool message content → tool_result content: a string, or text blocks. */
function toolResultContent(content: unknown, param: string): string | AnthropicBlock[] {
  if (typeof content === "string") return content;
  if (content == null) return "";
  return userBlocks(content, param);
}

interface TranslatedMessages {
  system: AnthropicBlock[];
  messages: AnthropicMessage[];
  droppedName: boolean;
}

/**
 * OpenAI messages → Anthropic's system + alternating user/assistant turns:
 * - system and developer messages (wherever they are) become the top-level `system`;
 * - tool results become tool_result blocks in a user turn;
 * - consecutive turns of the same role are merged (so several tool results, or a tool
 *   result followed by a user message, form one user turn, as Anthropic requires).
 */
function translateMessages(messages: ChatCompletionRequest["messages"]): TranslatedMessages {
  const system: AnthropicBlock[] = [];
  const out: AnthropicMessage[] = [];
  let droppedName = false;
  const push = (role: AnthropicMessage["role"], blocks: AnthropicBlock[]) => {
    if (blocks.length === 0) return;
    const last = out.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  messages.forEach((m, i) => {
    const param = `messages[${i}]`;
    if (m.name !== undefined) droppedName = true;
    switch (m.role) {
      case "system":
      case "developer": {
        const text = textOf(m.content, `${param}.content`);
        if (text !== "") system.push({ type: "text", text });
        return;
      }
      case "user":
        push("user", userBlocks(m.content ?? "", `${param}.content`));
        return;
      case "assistant": {
        const blocks: AnthropicBlock[] = [];
        const text = textOf(m.content, `${param}.content`);
        // Anthropic rejects empty text blocks; an assistant turn with only tool calls has none.
        if (text !== "") blocks.push({ type: "text", text });
        const calls = (m as Json).tool_calls;
        if (Array.isArray(calls)) calls.forEach((c, j) => blocks.push(toolUseBlock(c, `${param}.tool_calls[${j}]`)));
        push("assistant", blocks);
        return;
      }
      case "tool": {
        if (typeof m.tool_call_id !== "string") throw refuse(`${param}.tool_call_id is required.`, `${param}.tool_call_id`);
        push("user", [{ type: "tool_result", tool_use_id: m.tool_call_id, content: toolResultContent(m.content, `${param}.content`) }]);
        return;
      }
      case "function":
        throw refuse(`${param}: the legacy "function" role is not supported for Anthropic; use tools and "tool" messages.`, `${param}.role`);
    }
  });
  return { system, messages: out, droppedName };
}

function translateTools(tools: unknown): Json[] {
  if (!Array.isArray(tools)) throw refuse("tools must be an array.", "tools");
  return tools.map((t, i) => {
    if (!isObj(t) || t.type !== "function" || !isObj(t.function) || typeof t.function.name !== "string") {
      throw refuse(`tools[${i}]: only function tools are supported for Anthropic.`, `tools[${i}]`);
    }
    const f = t.function;
    if (f.name === JSON_RESPONSE_TOOL) throw refuse(`tools[${i}]: the tool name "${JSON_RESPONSE_TOOL}" is reserved.`, `tools[${i}].function.name`);
    const tool: Json = { name: f.name, input_schema: isObj(f.parameters) ? f.parameters : { type: "object", properties: {} } };
    if (typeof f.description === "string") tool.description = f.description;
    return tool;
  });
}

function translateToolChoice(choice: unknown): Json | null {
  if (choice === undefined || choice === null || choice === "auto") return { type: "auto" };
  if (choice === "none") return { type: "none" };
  if (choice === "required") return { type: "any" };
  if (isObj(choice) && choice.type === "function" && isObj(choice.function) && typeof choice.function.name === "string") {
    return { type: "tool", name: choice.function.name };
  }
  throw refuse('tool_choice must be "auto", "none", "required" or {"type":"function","function":{"name":…}}.', "tool_choice");
}

/** response_format → the schema of the forced JSON tool; null for text (or absent). */
function jsonResponseSchema(format: unknown): { schema: Json; description: string } | null {
  if (format == null) return null;
  if (!isObj(format)) throw refuse("response_format must be an object.", "response_format");
  if (format.type === "text") return null;
  if (format.type === "json_object") {
    return { schema: { type: "object" }, description: "Respond with your answer as a JSON object." };
  }
  if (format.type === "json_schema" && isObj(format.json_schema)) {
    const js = format.json_schema;
    const schema = isObj(js.schema) ? js.schema : { type: "object" };
    const about = typeof js.description === "string" ? ` ${js.description}` : "";
    if (schema.type !== "object") throw refuse("response_format.json_schema.schema must describe an object for Anthropic.", "response_format");
    return { schema, description: `Respond with your answer as JSON matching this schema.${about}` };
  }
  throw refuse('response_format.type must be "text", "json_object" or "json_schema".', "response_format");
}

/**
 * OpenAI chat request → Anthropic Messages request. Throws an AppError
 * (invalid_request, 400) for what Anthropic cannot do at all (n > 1, audio or file
 * parts, non-function tools); parameters it merely lacks are dropped and reported.
 */
export function prepareAnthropicChatRequest(request: ChatCompletionRequest, target: UpstreamTarget): PreparedChatRequest {
  const r = request as Json;
  const stream = request.stream === true;
  const clientWantsUsage = stream && request.stream_options?.include_usage === true;
  if (typeof request.n === "number" && request.n > 1) throw refuse("Anthropic models return one choice; n must be 1.", "n");

  const { system, messages, droppedName } = translateMessages(request.messages);
  if (messages.length === 0) throw refuse("messages must contain at least one user or assistant message for Anthropic.", "messages");

  const body: Json = {
    model: target.upstreamModel,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system.length > 0) body.system = system;
  if (stream) body.stream = true;
  // Anthropic's range is 0–1, OpenAI's 0–2: higher values are clamped rather than refused.
  if (typeof r.temperature === "number") body.temperature = Math.min(r.temperature, 1);
  if (typeof r.top_p === "number") body.top_p = r.top_p;
  if (typeof r.top_k === "number") body.top_k = r.top_k;
  if (isObj(r.thinking)) body.thinking = r.thinking;
  if (typeof r.stop === "string") body.stop_sequences = [r.stop];
  else if (Array.isArray(r.stop) && r.stop.length > 0) body.stop_sequences = r.stop;
  if (typeof r.user === "string" && r.user !== "") body.metadata = { user_id: r.user };

  const hasTools = Array.isArray(r.tools) && r.tools.length > 0;
  const tools = hasTools ? translateTools(r.tools) : [];
  let toolChoice = hasTools ? translateToolChoice(r.tool_choice) : null;
  const json = jsonResponseSchema(r.response_format);
  if (json) {
    tools.push({ name: JSON_RESPONSE_TOOL, description: json.description, input_schema: json.schema });
    // Without client tools the JSON tool is forced. With them the model must call some
    // tool: one of the client's, or the JSON one to answer (a named choice is kept).
    if (!hasTools || toolChoice?.type === "none") toolChoice = { type: "tool", name: JSON_RESPONSE_TOOL };
    else if (toolChoice?.type === "auto") toolChoice = { type: "any" };
  }
  if (tools.length > 0) {
    body.tools = tools;
    if (toolChoice) {
      if (r.parallel_tool_calls === false && toolChoice.type !== "none") toolChoice = { ...toolChoice, disable_parallel_tool_use: true };
      body.tool_choice = toolChoice;
    }
  }

  // Unknown fields too: a parameter we do not translate never reaches Anthropic, so say so.
  const droppedParams = Object.keys(r).filter((k) => r[k] !== undefined && r[k] !== null && (!HANDLED.has(k) || DROPPED.has(k)));
  if (droppedName) droppedParams.push("messages[].name");

  return {
    http: { url: anthropicMessagesUrl(target), method: "POST", headers: anthropicHeaders(target, stream), body: JSON.stringify(body) },
    stream,
    clientWantsUsage,
    droppedParams,
  };
}

type FinishReason = ChatCompletion["choices"][number]["finish_reason"];

/** Anthropic stop_reason → OpenAI finish_reason. */
export function toFinishReason(stopReason: unknown, calledClientTool: boolean): FinishReason {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      // Only the JSON response tool was used: to the client that is a plain answer.
      return calledClientTool ? "tool_calls" : "stop";
    case "refusal":
      return "content_filter";
    case null:
    case undefined:
      return null;
    default:
      // end_turn, stop_sequence, pause_turn, and any reason added later.
      return "stop";
  }
}

/**
 * A Messages reply → an OpenAI chat completion: text blocks → content, tool_use →
 * tool_calls, thinking → reasoning_content, the JSON response tool → content.
 */
export function translateAnthropicChatResponse(body: unknown, ctx: { model: string }): ChatCompletion | null {
  if (!isObj(body) || !Array.isArray(body.content)) return null;
  let text = "";
  let reasoning = "";
  let jsonAnswer: string | null = null;
  const toolCalls: ChatToolCall[] = [];
  for (const block of body.content as unknown[]) {
    if (!isObj(block)) continue;
    if (block.type === "text" && typeof block.text === "string") text += block.text;
    else if (block.type === "thinking" && typeof block.thinking === "string") reasoning += block.thinking;
    else if (block.type === "tool_use" && typeof block.name === "string") {
      const args = JSON.stringify(block.input ?? {});
      if (block.name === JSON_RESPONSE_TOOL) jsonAnswer = args;
      else toolCalls.push({ id: typeof block.id === "string" ? block.id : "", type: "function", function: { name: block.name, arguments: args } });
    }
  }
  // In JSON mode the client parses content as JSON: any prose around the tool call would break it.
  const content = jsonAnswer ?? (text === "" && toolCalls.length > 0 ? null : text);
  const message: ChatCompletion["choices"][number]["message"] = { role: "assistant", content };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning !== "") message.reasoning_content = reasoning;
  const usage = extractAnthropicChatUsage(body);
  const completion: ChatCompletion = {
    id: typeof body.id === "string" ? body.id : "",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: ctx.model,
    choices: [{ index: 0, message, finish_reason: toFinishReason(body.stop_reason, toolCalls.length > 0) ?? "stop", logprobs: null }],
  };
  if (usage) completion.usage = toOpenAiUsage(usage);
  return completion;
}
