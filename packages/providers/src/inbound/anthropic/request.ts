import type { ChatCompletionRequest } from "@switchyard/contracts";
import {
  anthropicMessagesRequestSchema,
  type AnthropicContentBlockParam,
  type AnthropicImageBlockParam,
  type AnthropicMessagesRequest,
  type AnthropicTextBlockParam,
} from "./schema";

/** OpenAI content parts we produce. */
type OpenAiPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } }
  | { type: "file"; file: { filename: string; file_data: string } };

type OpenAiMessage = Record<string, unknown> & { role: string };

export interface InboundAnthropicOptions {
  /**
   * Which OpenAI field carries Anthropic's `max_tokens`. OpenAI's own API refuses
   * `max_tokens` on reasoning models, while some OpenAI-compatible servers only know
   * `max_tokens`; the proxy picks by provider type.
   */
  maxTokensParam: "max_tokens" | "max_completion_tokens";
}

export type InboundAnthropicResult =
  | { ok: true; request: ChatCompletionRequest; anthropic: AnthropicMessagesRequest; droppedParams: string[] }
  | { ok: false; message: string; param: string | null };

/** Top-level fields that are mapped (or consumed) by this translation. */
const MAPPED = new Set([
  "model",
  "messages",
  "system",
  "max_tokens",
  "temperature",
  "top_p",
  "stop_sequences",
  "stream",
  "metadata",
  "tools",
  "tool_choice",
]);

class TranslationError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

/** zod issue path → `messages[0].content[1].type`. */
function formatPath(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), "");
}

interface IssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: IssueLike[][];
}

/**
 * zod reports "string or block array" failures as a bare "Invalid input" union issue;
 * descend into the branch that got furthest so the client hears what is actually wrong
 * (e.g. an unsupported block type at messages[0].content[1].type).
 */
function mostSpecificIssue(issue: IssueLike, base: PropertyKey[] = []): { path: PropertyKey[]; message: string } {
  const path = [...base, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors) {
    const branch = issue.errors.find((b) => b.length > 0 && !b.every((i) => i.code === "invalid_type" && i.path.length === 0));
    const inner = branch?.[0];
    if (inner) return mostSpecificIssue(inner, path);
  }
  return { path, message: issue.message };
}

/** One part → a bare string; several (or an image) → OpenAI content parts. */
function contentOf(parts: OpenAiPart[]): string | OpenAiPart[] {
  const only = parts[0];
  if (parts.length === 1 && only?.type === "text") return only.text;
  return parts;
}

function textPart(block: AnthropicTextBlockParam): OpenAiPart {
  return { type: "text", text: block.text };
}

function imagePart(block: AnthropicImageBlockParam): OpenAiPart {
  const src = block.source;
  const url = src.type === "base64" ? `data:${src.media_type};base64,${src.data}` : src.url;
  return { type: "image_url", image_url: { url } };
}

/**
 * A user turn: tool results become `tool` messages first (OpenAI wants them right after
 * the assistant's tool calls), then one user message with everything else. Images
 * inside a tool result cannot ride on a `tool` message, so they go to that user message.
 */
function translateUserBlocks(blocks: AnthropicContentBlockParam[], at: string): OpenAiMessage[] {
  const toolMessages: OpenAiMessage[] = [];
  const userParts: OpenAiPart[] = [];
  blocks.forEach((block, i) => {
    switch (block.type) {
      case "text":
        userParts.push(textPart(block));
        break;
      case "image":
        userParts.push(imagePart(block));
        break;
      case "document":
        if (block.source.type === "text") userParts.push({ type: "text", text: block.source.data });
        else userParts.push({ type: "file", file: { filename: block.title ?? "document", file_data: `data:${block.source.media_type};base64,${block.source.data}` } });
        break;
      case "tool_result": {
        const c = block.content;
        let content: string | OpenAiPart[] = "";
        if (typeof c === "string") content = c;
        else if (c) {
          const texts = c.filter((b) => b.type === "text").map(textPart);
          for (const b of c) if (b.type === "image") userParts.push(imagePart(b));
          content = texts.length === 0 ? "" : contentOf(texts);
        }
        toolMessages.push({ role: "tool", tool_call_id: block.tool_use_id, content });
        break;
      }
      case "thinking":
      case "redacted_thinking":
        break;
      case "tool_use":
        throw new TranslationError("tool_use blocks may only appear in assistant messages", `${at}.content[${i}]`);
    }
  });
  const out = [...toolMessages];
  if (userParts.length > 0) out.push({ role: "user", content: contentOf(userParts) });
  return out;
}

function translateAssistantBlocks(blocks: AnthropicContentBlockParam[], at: string): OpenAiMessage[] {
  const texts: OpenAiPart[] = [];
  const toolCalls: { id: string; type: "function"; function: { name: string; arguments: string } }[] = [];
  blocks.forEach((block, i) => {
    switch (block.type) {
      case "text":
        texts.push(textPart(block));
        break;
      case "tool_use":
        toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
        break;
      // Earlier turns' thinking has no OpenAI form; the model re-reads the visible answer only.
      case "thinking":
      case "redacted_thinking":
        break;
      default:
        throw new TranslationError(`${block.type} blocks may only appear in user messages`, `${at}.content[${i}]`);
    }
  });
  if (texts.length === 0 && toolCalls.length === 0) return [];
  const message: OpenAiMessage = { role: "assistant", content: texts.length === 0 ? null : contentOf(texts) };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return [message];
}

function translateTools(req: AnthropicMessagesRequest): Record<string, unknown>[] | undefined {
  if (!req.tools) return undefined;
  return req.tools.map((tool, i) => {
    if ((tool.type && tool.type !== "custom") || !tool.input_schema) {
      throw new TranslationError(
        tool.type && tool.type !== "custom"
          ? `server tool type '${tool.type}' is only available on Anthropic's own API; define it as a client tool with an input_schema`
          : "input_schema is required",
        `tools[${i}]`,
      );
    }
    const fn: Record<string, unknown> = { name: tool.name, parameters: tool.input_schema };
    if (tool.description) fn.description = tool.description;
    return { type: "function", function: fn };
  });
}

function translateToolChoice(choice: NonNullable<AnthropicMessagesRequest["tool_choice"]>): unknown {
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: choice.name } };
  }
}

/**
 * Anthropic Messages request (unvalidated JSON) → the canonical OpenAI chat request.
 * Pure: the proxy sends the result through the same adapter as /v1/chat/completions.
 * Parameters without an OpenAI counterpart are left out and named in `droppedParams`.
 */
export function anthropicToChatRequest(json: unknown, opts: InboundAnthropicOptions): InboundAnthropicResult {
  const parsed = anthropicMessagesRequestSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0] as IssueLike | undefined;
    const issue = first ? mostSpecificIssue(first) : null;
    const param = issue ? formatPath(issue.path) : null;
    return { ok: false, message: `${param ? `${param}: ` : ""}${issue?.message ?? "invalid body"}`, param };
  }
  const req = parsed.data;
  try {
    const messages: OpenAiMessage[] = [];
    if (typeof req.system === "string") {
      if (req.system !== "") messages.push({ role: "system", content: req.system });
    } else if (req.system && req.system.length > 0) {
      messages.push({ role: "system", content: contentOf(req.system.map(textPart)) });
    }
    req.messages.forEach((m, i) => {
      const at = `messages[${i}]`;
      if (typeof m.content === "string") messages.push({ role: m.role, content: m.content });
      else if (m.role === "user") messages.push(...translateUserBlocks(m.content, at));
      else messages.push(...translateAssistantBlocks(m.content, at));
    });
    if (messages.length === 0) throw new TranslationError("messages must contain at least one non-empty message", "messages");

    const out: Record<string, unknown> = { model: req.model, messages, [opts.maxTokensParam]: req.max_tokens };
    if (req.temperature !== undefined) out.temperature = req.temperature;
    if (req.top_p !== undefined) out.top_p = req.top_p;
    if (req.stop_sequences && req.stop_sequences.length > 0) out.stop = req.stop_sequences;
    if (req.metadata?.user_id) out.user = req.metadata.user_id;
    const tools = translateTools(req);
    if (tools && tools.length > 0) {
      out.tools = tools;
      if (req.tool_choice) {
        out.tool_choice = translateToolChoice(req.tool_choice);
        if ("disable_parallel_tool_use" in req.tool_choice && req.tool_choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
      }
    } else if (req.tool_choice?.type === "tool" || req.tool_choice?.type === "any") {
      throw new TranslationError(`tool_choice '${req.tool_choice.type}' needs tools`, "tool_choice");
    }
    if (req.stream === true) {
      out.stream = true;
      // The usage chunk carries the numbers for message_delta; the client never sees it as such.
      out.stream_options = { include_usage: true };
    }

    const droppedParams = Object.keys(req).filter((k) => !MAPPED.has(k) && !(k === "thinking" && req.thinking?.type === "disabled"));
    return { ok: true, request: out as ChatCompletionRequest, anthropic: req, droppedParams };
  } catch (err) {
    if (err instanceof TranslationError) return { ok: false, message: `${err.param}: ${err.message}`, param: err.param };
    throw err;
  }
}
