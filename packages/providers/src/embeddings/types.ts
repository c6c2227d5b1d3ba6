import type { ProviderType, TokenUsage } from "@switchyard/contracts";
import type { UpstreamHttpRequest, UpstreamTarget } from "../types";

/** OpenAI's `POST /v1/embeddings` body: the canonical embeddings request. Unknown fields ride along. */
export interface EmbeddingRequest {
  model: string;
  /** A string, strings, a token-id array, or token-id arrays. */
  input: string | string[] | number[] | number[][];
  encoding_format?: "float" | "base64";
  dimensions?: number;
  user?: string;
  [extra: string]: unknown;
}

export interface OpenAiEmbedding {
  object: "embedding";
  index: number;
  /** Floats, or base64 of little-endian float32 when `encoding_format: "base64"`. */
  embedding: number[] | string;
}

/** OpenAI's embeddings response: what every adapter translates its provider's reply into. */
export interface OpenAiEmbeddingList {
  object: "list";
  data: OpenAiEmbedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface PreparedEmbeddingRequest {
  http: UpstreamHttpRequest;
  /** Parameters the provider cannot honour and the adapter left out (x-switchyard-dropped-params). */
  droppedParams: string[];
  /** The format the client asked for; the translation produces it. */
  encodingFormat: "float" | "base64";
}

export interface EmbeddingTranslationContext {
  /** The public model name the client sent. */
  model: string;
  encodingFormat: "float" | "base64";
  /** Our token estimate, used for `usage` when the provider reports none (Gemini). */
  estimatedInputTokens: number | null;
}

/**
 * One provider's embeddings translation: pure functions, no I/O. A request this
 * provider cannot serve (token-id input to a text-only API) throws
 * `EmbeddingRequestError`, which the proxy answers with a 400.
 */
export interface EmbeddingAdapter {
  readonly types: readonly ProviderType[];
  readonly defaultBaseUrl: string | null;
  /** False when the provider's reply carries no token usage, so the proxy must estimate it. */
  readonly reportsUsage: boolean;
  prepareEmbeddingRequest(request: EmbeddingRequest, target: UpstreamTarget): PreparedEmbeddingRequest;
  /**
   * The provider's reply (parsed JSON) as OpenAI's list; `null` means the reply already
   * is exactly what the client asked for and its bytes are forwarded unchanged.
   */
  translateEmbeddingResponse(body: unknown, ctx: EmbeddingTranslationContext): OpenAiEmbeddingList | null;
  /** Input tokens the provider billed; null when its reply says nothing. */
  extractEmbeddingUsage(body: unknown): TokenUsage | null;
}

/** The client asked for something this provider cannot do; the message says what. */
export class EmbeddingRequestError extends Error {
  constructor(
    message: string,
    readonly param: string | null,
  ) {
    super(message);
    this.name = "EmbeddingRequestError";
  }
}
