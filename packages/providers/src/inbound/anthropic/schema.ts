import { z } from "zod";

/**
 * The Anthropic Messages API request, as far as the gateway translates it. Objects are
 * loose: fields we do not map (cache_control, citations, …) are tolerated and dropped,
 * as the docs in docs/providers/inbound-anthropic.md list.
 */
const textBlock = z.looseObject({ type: z.literal("text"), text: z.string() });

const imageBlock = z.looseObject({
  type: z.literal("image"),
  source: z.discriminatedUnion("type", [
    z.looseObject({ type: z.literal("base64"), media_type: z.string().min(1), data: z.string().min(1) }),
    z.looseObject({ type: z.literal("url"), url: z.string().min(1) }),
  ]),
});

const documentBlock = z.looseObject({
  type: z.literal("document"),
  title: z.string().nullish(),
  source: z.discriminatedUnion("type", [
    z.looseObject({ type: z.literal("base64"), media_type: z.string().min(1), data: z.string().min(1) }),
    z.looseObject({ type: z.literal("text"), data: z.string() }),
  ]),
});

const toolUseBlock = z.looseObject({
  type: z.literal("tool_use"),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.unknown(),
});

const toolResultBlock = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.discriminatedUnion("type", [textBlock, imageBlock]))]).optional(),
  is_error: z.boolean().optional(),
});

/** Thinking from an earlier turn: there is no OpenAI equivalent to send it back as. */
const thinkingBlock = z.looseObject({ type: z.enum(["thinking", "redacted_thinking"]) });

const contentBlock = z.discriminatedUnion("type", [textBlock, imageBlock, documentBlock, toolUseBlock, toolResultBlock, thinkingBlock], {
  error: (issue) =>
    issue.code === "invalid_union" ? "unsupported content block type (supported: text, image, document, tool_use, tool_result, thinking)" : undefined,
});

export const anthropicMessageParamSchema = z.looseObject({
  role: z.enum(["user", "assistant"]),
  content: z.union([z.string(), z.array(contentBlock)]),
});

export const anthropicToolSchema = z.looseObject({
  /** Absent or "custom" for client tools; server tools (web_search_…, bash_…) have their own type. */
  type: z.string().nullish(),
  name: z.string().min(1),
  description: z.string().nullish(),
  input_schema: z.looseObject({}).optional(),
});

const toolChoiceSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("tool"), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("none") }),
]);

export const anthropicMessagesRequestSchema = z.looseObject({
  model: z.string().min(1, "model is required"),
  messages: z.array(anthropicMessageParamSchema).min(1, "messages must contain at least one message"),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  max_tokens: z.number().int().positive(),
  temperature: z.number().nonnegative().optional(),
  top_p: z.number().nonnegative().optional(),
  top_k: z.number().int().nonnegative().optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).optional(),
  tools: z.array(anthropicToolSchema).optional(),
  tool_choice: toolChoiceSchema.optional(),
  thinking: z.looseObject({ type: z.string() }).optional(),
});

export type AnthropicMessagesRequest = z.infer<typeof anthropicMessagesRequestSchema>;
export type AnthropicContentBlockParam = z.infer<typeof contentBlock>;
export type AnthropicTextBlockParam = z.infer<typeof textBlock>;
export type AnthropicImageBlockParam = z.infer<typeof imageBlock>;
