import type { ChatCompletion, ChatCompletionRequest, ProviderType, TokenUsage } from "@switchyard/contracts";

/** Where and as whom to call a provider; resolved by the proxy from its snapshot. */
export interface UpstreamTarget {
  /** The credential's base URL; null means the adapter's default. */
  baseUrl: string | null;
  /** The provider key in clear (never logged); null sends no credential (local servers). */
  apiKey: string | null;
  /** The model name the provider knows. */
  upstreamModel: string;
  apiVersion?: string | null;
}

/** A ready-to-send HTTP request; the proxy adds transport concerns (timeouts, abort). */
export interface UpstreamHttpRequest {
  url: string;
  method: "POST" | "GET";
  headers: Record<string, string>;
  body: string;
}

export interface PreparedChatRequest {
  http: UpstreamHttpRequest;
  stream: boolean;
  /**
   * Whether the client itself asked for `stream_options.include_usage`. The adapter
   * always asks the provider for usage (we must price every stream); when the client
   * did not ask, the stream transform drops the usage-only chunk so the client sees
   * exactly what the provider would have sent it.
   */
  clientWantsUsage: boolean;
  /**
   * Request parameters the provider cannot honour and the adapter left out; the proxy
   * reports them in `x-switchyard-dropped-params`.
   */
  droppedParams: string[];
}

/** One step of a stream transform: what to forward, and what was learnt. */
export interface StreamStep<S> {
  state: S;
  /** Text to write to the client now (whole SSE events only). */
  output: string;
  /** True on the step that carried the first content (text, tool call, refusal) delta. */
  firstContent: boolean;
}

/** The typed set of upstream failures the retry and failover logic decides on. */
export type UpstreamErrorKind =
  | "rate_limited"
  | "overloaded"
  | "server_error"
  | "timeout"
  | "invalid_request"
  | "auth"
  | "permission"
  | "context_length_exceeded"
  | "content_filtered"
  | "not_found";

/** What an upstream error status means for the client and for failover. */
export interface UpstreamErrorInfo {
  kind: UpstreamErrorKind;
  upstreamStatus: number;
  /** The status the gateway answers with. */
  clientStatus: number;
  /** Worth trying again or on another target (5xx, 429, timeouts). */
  retryable: boolean;
  /** Short label stored on the usage event, e.g. "upstream_server_error". */
  errorClass: string;
  /** The provider's own error fields when its body had them. */
  message: string | null;
  type: string | null;
  code: string | null;
  param: string | null;
  /** Seconds to wait, when the provider says so in its body rather than a header (Gemini). */
  retryAfterSeconds?: number | null;
}

/**
 * A provider's translation layer: pure functions over data, no I/O. Stream transforms
 * are pure functions over a small explicit state object `S` (feed text, get the text to
 * forward and the updated state).
 */
export interface ProviderAdapter<S = unknown> {
  readonly types: readonly ProviderType[];
  /** Base URL used when the credential has none; null means a base URL is required. */
  readonly defaultBaseUrl: string | null;
  prepareChatRequest(request: ChatCompletionRequest, target: UpstreamTarget): PreparedChatRequest;
  /** Token usage from a non-streaming response body (parsed JSON); null when absent. */
  extractChatUsage(body: unknown): TokenUsage | null;
  /**
   * Only for adapters whose replies are forwarded unchanged (translateChatResponse returns
   * null): the usage of a non-streaming reply read from its bytes, as extractChatUsage
   * would find it in the parsed body, without decoding and parsing the rest. `undefined`
   * when the bytes cannot be read that way (not one JSON object): parse them instead.
   */
  chatUsageFromBytes?(body: Buffer): TokenUsage | null | undefined;
  /**
   * The provider's non-streaming reply (parsed JSON) as an OpenAI chat completion.
   * `null` means the reply already is one and its bytes are forwarded unchanged
   * (the OpenAI family), which is both faster and lossless.
   */
  translateChatResponse(body: unknown, ctx: { model: string }): ChatCompletion | null;
  /** `model`: the public model name, for streams that do not carry one (Cohere). */
  initStreamState(opts: { clientWantsUsage: boolean; model?: string }): S;
  /** Feeds decoded text from the provider's stream; the output is OpenAI `chat.completion.chunk` SSE. */
  transformStream(state: S, text: string): StreamStep<S>;
  /**
   * True when transformStream's and finishStream's output is only text they were fed, cut
   * and joined, never text of their own (the OpenAI family): a stream of ASCII bytes then
   * gives ASCII output, which the proxy writes to the socket without a UTF-8 pass.
   */
  readonly streamOutputIsInput?: boolean;
  /** Called when the provider's stream ended: flushes a trailing event without separator. */
  finishStream(state: S): StreamStep<S>;
  /** Usage seen so far in the stream (from the final chunk); null if none yet. */
  streamUsage(state: S): TokenUsage | null;
  /** Whether the stream reached its normal end marker (`data: [DONE]` for OpenAI). */
  streamCompleted(state: S): boolean;
  classifyError(status: number, bodyText: string): UpstreamErrorInfo;
}
