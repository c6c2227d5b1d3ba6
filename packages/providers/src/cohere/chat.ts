import { AppError, type ChatCompletion, type ChatCompletionRequest, type ChatToolCall } from "@switchyard/contracts";
import { openAiHeaders, openAiUrl, resolveBaseUrl } from "../openai/api";
import type { PreparedChatRequest, UpstreamTarget } from "../types";
import { COHERE_DEFAULT_BASE_URL } from "./api";
import { extractCohereChatUsage, toOpenAiUsage } from "./usage";

type Message = ChatCompletionRequest["messages"][number];
type Part = Record<string, unknown> & { type: string };

/** Parameters with the same meaning under another name (or the same one). */
const RENAMED: Record<string, string> = {
  temperature: "temperature",
  top_p: "p",
  seed: "seed",
  frequency_penalty: "frequency_penalty",
  presence_penalty: "presence_penalty",
  max_tokens: "max_tokens",
  max_completion_tokens: "max_tokens",
};

/** Handled below, or honoured without being sent (Cohere always reports usage at message-end). */
const HANDLED = new Set(["model", "messages", "stream", "stream_options", "stop", "tools", "tool_choice", "response_format", "n", "parallel_tool_calls"]);

const textOfParts = (parts: Part[]) => parts.filter((p) => p.type === "text" && typeof p.text === "string").map((p) => p.text).join("");

/** Text-only content (system, assistant, tool turns): Cohere takes a string. */
function plainText(content: Message["content"]): string {
  if (typeof content === "string") return content;
  return Array.isArray(content) ? textOfParts(content) : "";
}

/** A request Cohere cannot carry without changing its meaning: 400, naming the parameter. */
const refuse = (message: string, param: string) => new AppError("invalid_request", message, { param });

/**
 * User content: text and image_url parts (Cohere v2's vision format is OpenAI's). Other
 * parts (audio, files) are refused: answering without the input would mislead.
 */
function userContent(content: Message["content"], at: number): unknown {
  if (!Array.isArray(content)) return content ?? "";
  return (content as Part[]).map((p, i) => {
    if (p.type === "text") return { type: "text", text: p.text };
    if (p.type === "image_url") return { type: "image_url", image_url: p.image_url };
    throw refuse(`messages[${at}].content[${i}]: content part type "${p.type}" is not supported by Cohere models.`, `messages[${at}].content[${i}]`);
  });
}

interface OpenAiToolCallIn {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

function toCohereMessage(m: Message, at: number): Record<string, unknown> {
  switch (m.role) {
    case "system":
    case "developer":
      return { role: "system", content: plainText(m.content) };
    case "assistant": {
      const out: Record<string, unknown> = { role: "assistant" };
      const text = plainText(m.content);
      const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as OpenAiToolCallIn[]) : [];
      if (calls.length > 0) {
        out.tool_calls = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.function?.name, arguments: c.function?.arguments } }));
      }
      // Cohere wants content or tool calls on an assistant turn, not an empty string beside calls.
      if (text !== "" || calls.length === 0) out.content = text;
      return out;
    }
    case "tool":
      return { role: "tool", tool_call_id: m.tool_call_id, content: plainText(m.content) };
    case "user":
      return { role: "user", content: userContent(m.content, at) };
    default:
      throw refuse(`messages[${at}]: the legacy "${m.role}" role is not supported; use tools and tool messages.`, `messages[${at}].role`);
  }
}

interface FunctionTool {
  type?: unknown;
  function?: { name?: unknown; description?: unknown; parameters?: unknown };
}

function toCohereTool(t: FunctionTool): Record<string, unknown> {
  const fn: Record<string, unknown> = { name: t.function?.name };
  if (t.function?.description !== undefined) fn.description = t.function.description;
  fn.parameters = t.function?.parameters ?? { type: "object", properties: {} };
  return { type: "function", function: fn };
}

/** OpenAI's response_format → Cohere's (`json_object`, with the schema in `json_schema`). */
function toCohereResponseFormat(rf: unknown): Record<string, unknown> | null {
  if (typeof rf !== "object" || rf === null) return null;
  const r = rf as { type?: unknown; json_schema?: { schema?: unknown } };
  if (r.type === "json_object") return { type: "json_object" };
  if (r.type === "json_schema") return r.json_schema?.schema ? { type: "json_object", json_schema: r.json_schema.schema } : { type: "json_object" };
  return null;
}

export function buildCohereChatBody(request: ChatCompletionRequest, target: UpstreamTarget): { body: Record<string, unknown>; droppedParams: string[] } {
  const dropped = new Set<string>();
  const body: Record<string, unknown> = { model: target.upstreamModel, messages: request.messages.map((m, i) => toCohereMessage(m, i)) };
  if (request.stream === true) body.stream = true;
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined || value === null || HANDLED.has(key)) continue;
    const name = RENAMED[key];
    if (name) {
      if (body[name] === undefined) body[name] = value;
    } else dropped.add(key);
  }
  const stop = request.stop;
  if (typeof stop === "string") body.stop_sequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) body.stop_sequences = stop;

  let tools = Array.isArray(request.tools) ? (request.tools as FunctionTool[]) : [];
  const choice = request.tool_choice;
  if (choice === "none") body.tool_choice = "NONE";
  else if (choice === "required") body.tool_choice = "REQUIRED";
  else if (typeof choice === "object" && choice !== null) {
    // Cohere cannot force one named tool; offering only that tool and requiring a call is the same thing.
    const wanted = (choice as { function?: { name?: unknown } }).function?.name;
    tools = tools.filter((t) => t.function?.name === wanted);
    body.tool_choice = "REQUIRED";
  }
  if (tools.length > 0) body.tools = tools.map(toCohereTool);

  const rf = toCohereResponseFormat(request.response_format);
  if (rf) body.response_format = rf;
  // n > 1 cannot be honoured (one generation per call); n = 1 is the default anyway.
  if (typeof request.n === "number" && request.n > 1) dropped.add("n");
  // Cohere may always call tools in parallel; "false" cannot be honoured.
  if (request.parallel_tool_calls === false) dropped.add("parallel_tool_calls");
  return { body, droppedParams: [...dropped] };
}

export function prepareCohereChatRequest(request: ChatCompletionRequest, target: UpstreamTarget): PreparedChatRequest {
  const stream = request.stream === true;
  const { body, droppedParams } = buildCohereChatBody(request, target);
  return {
    http: {
      url: openAiUrl(resolveBaseUrl(target, COHERE_DEFAULT_BASE_URL), "/chat"),
      method: "POST",
      // Cohere v2 uses Bearer auth like OpenAI.
      headers: openAiHeaders(target, stream),
      body: JSON.stringify(body),
    },
    stream,
    clientWantsUsage: stream && request.stream_options?.include_usage === true,
    droppedParams,
  };
}

export type FinishReason = ChatCompletion["choices"][number]["finish_reason"];

/** Cohere's finish reasons → OpenAI's; ERROR/TIMEOUT have no OpenAI counterpart and stay null. */
export function mapCohereFinishReason(reason: unknown): FinishReason {
  switch (reason) {
    case "COMPLETE":
    case "STOP_SEQUENCE":
      return "stop";
    case "MAX_TOKENS":
    case "ERROR_LIMIT":
      return "length";
    case "TOOL_CALL":
      return "tool_calls";
    case "ERROR_TOXIC":
      return "content_filter";
    default:
      return null;
  }
}

interface CohereToolCall {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}
interface CohereChatResponse {
  id?: unknown;
  finish_reason?: unknown;
  message?: { content?: unknown; tool_plan?: unknown; tool_calls?: unknown };
}

const str = (v: unknown): string => (typeof v === "string" ? v : v == null ? "" : JSON.stringify(v));

/**
 * A /v2/chat reply as an OpenAI completion. `tool_plan` (the model's reasoning before
 * calling tools) and thinking parts become `reasoning_content`: kept, but out of `content`.
 */
export function translateCohereChatResponse(body: unknown, ctx: { model: string }): ChatCompletion | null {
  if (typeof body !== "object" || body === null || !("message" in body)) return null;
  const b = body as CohereChatResponse;
  const parts = Array.isArray(b.message?.content) ? (b.message.content as Part[]) : [];
  const text = textOfParts(parts);
  const thinking = parts.filter((p) => p.type === "thinking").map((p) => str(p.thinking)).join("");
  const reasoning = str(b.message?.tool_plan) + thinking;
  const calls: ChatToolCall[] = (Array.isArray(b.message?.tool_calls) ? (b.message.tool_calls as CohereToolCall[]) : []).map((c) => ({
    id: str(c.id),
    type: "function",
    function: { name: str(c.function?.name), arguments: str(c.function?.arguments) || "{}" },
  }));
  const message: ChatCompletion["choices"][number]["message"] = { role: "assistant", content: text === "" && calls.length > 0 ? null : text };
  if (calls.length > 0) message.tool_calls = calls;
  if (reasoning) message.reasoning_content = reasoning;
  const usage = extractCohereChatUsage(body);
  const out: ChatCompletion = {
    id: str(b.id),
    object: "chat.completion",
    // Cohere's reply carries no timestamp.
    created: Math.floor(Date.now() / 1000),
    model: ctx.model,
    choices: [{ index: 0, message, finish_reason: mapCohereFinishReason(b.finish_reason), logprobs: null }],
  };
  if (usage) out.usage = toOpenAiUsage(usage);
  return out;
}
