import { sendJson, type MockRequestContext } from "../core";
import { lexicalEmbedding } from "./lexical-embedding";

/** Default vector sizes of OpenAI's embedding models (text-embedding-3-large is 3072). */
function defaultDimensions(model: string): number {
  return model.includes("large") ? 3072 : 1536;
}

/**
 * A deterministic unit vector for a text: the same input always embeds the same way,
 * different inputs differ, so tests can check order and identity end to end.
 */
export function mockEmbeddingVector(text: string, dimensions: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  const v: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822519) >>> 0;
    h = (h + 0x9e3779b9) >>> 0;
    v.push(h / 2 ** 31 - 1);
  }
  const norm = Math.hypot(...v) || 1;
  // Rounded through float32, as OpenAI's vectors are.
  return v.map((x) => Math.fround(x / norm));
}

/** A rough token count (≈4 characters per token): the mock has no tokenizer, it only needs to be stable. */
export function mockTokenCount(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function toBase64(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString("base64");
}

interface EmbeddingBody {
  model?: unknown;
  input?: unknown;
  encoding_format?: unknown;
  dimensions?: unknown;
}

function invalid(ctx: MockRequestContext, message: string, param: string | null): void {
  sendJson(ctx.res, 400, JSON.stringify({ error: { message, type: "invalid_request_error", param, code: null } }));
}

/**
 * OpenAI `POST /v1/embeddings`: CreateEmbeddingResponse with deterministic vectors and
 * usage. Vectors are opaque hashes of the input by default; with the "lexical" mode, text
 * inputs get the bag-of-words embedding of ./lexical-embedding (similar wording → similar
 * vectors), token-id inputs keep the hash.
 */
export function handleOpenAiEmbeddings(ctx: MockRequestContext): void {
  const body = (typeof ctx.rec.body === "object" && ctx.rec.body !== null ? ctx.rec.body : {}) as EmbeddingBody;
  const model = typeof body.model === "string" ? body.model : "";
  if (!model) return invalid(ctx, "you must provide a model parameter", "model");
  const input = body.input;
  // Texts, or pre-tokenized ids (which embed by their digits here).
  let items: { text: string; tokens: number; isText: boolean }[];
  if (typeof input === "string") items = [{ text: input, tokens: mockTokenCount(input), isText: true }];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === "string")) items = (input).map((t) => ({ text: t, tokens: mockTokenCount(t), isText: true }));
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === "number")) items = [{ text: input.join(","), tokens: input.length, isText: false }];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => Array.isArray(x))) items = (input as number[][]).map((ids) => ({ text: ids.join(","), tokens: ids.length, isText: false }));
  else return invalid(ctx, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "input");
  if (items.some((i) => i.text === "")) return invalid(ctx, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "input");
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : defaultDimensions(model);
  const base64 = body.encoding_format === "base64";
  const promptTokens = items.reduce((n, i) => n + i.tokens, 0);
  const data = items.map((item, index) => {
    const lexical = ctx.embeddings === "lexical" && item.isText ? lexicalEmbedding(item.text, dimensions) : null;
    const vector = lexical ?? mockEmbeddingVector(item.text, dimensions);
    return { object: "embedding", index, embedding: base64 ? toBase64(vector) : vector };
  });
  sendJson(ctx.res, 200, JSON.stringify({ object: "list", data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }));
}
