import { ZERO_USAGE, type TokenUsage } from "@switchyard/contracts";
import { EmbeddingRequestError, type EmbeddingRequest, type OpenAiEmbeddingList } from "./types";

/** Floats → base64 of little-endian float32, the bytes OpenAI returns for `encoding_format: "base64"`. */
export function encodeFloat32Base64(values: readonly number[]): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return Buffer.from(bytes).toString("base64");
}

/** The inverse (tests, and re-encoding a base64 reply as floats). */
export function decodeFloat32Base64(b64: string): number[] {
  const bytes = Buffer.from(b64, "base64");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.byteLength; i += 4) out.push(view.getFloat32(i, true));
  return out;
}

/** The input as texts, for providers that take text only (token-id arrays are refused). */
export function inputTexts(request: EmbeddingRequest, provider: string): string[] {
  const input = request.input;
  if (typeof input === "string") return [input];
  if (input.every((x): x is string => typeof x === "string")) return input;
  throw new EmbeddingRequestError(`${provider} embeddings take text only; token-id arrays in 'input' cannot be sent to it.`, "input");
}

export function encodingFormatOf(request: EmbeddingRequest): "float" | "base64" {
  return request.encoding_format === "base64" ? "base64" : "float";
}

/** Vectors (floats from the provider) as OpenAI's list, in the format the client asked for. */
export function toOpenAiList(vectors: readonly (readonly number[])[], model: string, format: "float" | "base64", promptTokens: number): OpenAiEmbeddingList {
  return {
    object: "list",
    data: vectors.map((v, index) => ({ object: "embedding", index, embedding: format === "base64" ? encodeFloat32Base64(v) : [...v] })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

export function usageOfInputTokens(inputTokens: number): TokenUsage {
  return { ...ZERO_USAGE, inputTokens };
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
