import { z } from "zod";

/**
 * The canonical request is OpenAI's Chat Completions body. We validate only what the
 * gateway itself relies on and pass every other field through untouched, so new
 * provider parameters work without a Switchyard release.
 */
const contentPart = z.looseObject({ type: z.string() });
export const chatMessageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
});

export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1, "model is required"),
  messages: z.array(chatMessageSchema).min(1, "messages must contain at least one message"),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  n: z.number().int().positive().nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** OpenAI's usage object as it appears on a completion and on the final stream chunk. */
export const openAiUsageSchema = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative().default(0),
  total_tokens: z.number().int().nonnegative().optional(),
  prompt_tokens_details: z
    .looseObject({ cached_tokens: z.number().int().nonnegative().nullish() })
    .nullish(),
  completion_tokens_details: z
    .looseObject({ reasoning_tokens: z.number().int().nonnegative().nullish() })
    .nullish(),
});
export type OpenAiUsage = z.infer<typeof openAiUsageSchema>;

/** A tool call in OpenAI's response shape. */
export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** OpenAI's non-streaming chat completion: what every adapter translates its provider's reply into. */
export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: {
    index: number;
    message: {
      role: "assistant";
      content: string | null;
      refusal?: string | null;
      tool_calls?: ChatToolCall[];
      /** Reasoning text some providers return (DeepSeek, Anthropic thinking, Gemini thoughts). */
      reasoning_content?: string;
    };
    finish_reason: "stop" | "length" | "tool_calls" | "content_filter" | "function_call" | null;
    logprobs?: null;
  }[];
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number };
    completion_tokens_details?: { reasoning_tokens?: number };
  };
  system_fingerprint?: string | null;
}

/** One OpenAI `chat.completion.chunk` frame. */
export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: {
    index: number;
    delta: {
      role?: "assistant";
      content?: string | null;
      reasoning_content?: string;
      refusal?: string | null;
      tool_calls?: { index: number; id?: string; type?: "function"; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason: ChatCompletion["choices"][number]["finish_reason"];
  }[];
  usage?: ChatCompletion["usage"] | null;
}
