import { loadEncoding, type TextEncoder } from "./encodings";
import { tokenizerProfile, type EncodingName, type ModelFamily } from "./families";

export interface TextTokenCount {
  tokens: number;
  /** True when counted with the model's own tokenizer. */
  exact: boolean;
  family: ModelFamily;
  encoding: EncodingName;
  marginPct: number;
}

/** OpenAI's embeddings `input`: a string, strings, a token array, or token arrays. */
export type EmbeddingInput = string | readonly string[] | readonly number[] | readonly (readonly number[])[];

/** Counts with an already loaded encoder (synchronous). */
export function countTextTokensWith(encoder: TextEncoder, texts: string | readonly string[], model: string, providerType?: string): TextTokenCount {
  const profile = tokenizerProfile(model, providerType);
  let raw = 0;
  for (const t of typeof texts === "string" ? [texts] : texts) raw += encoder.countTokens(t);
  return {
    tokens: profile.factor === 1 ? raw : Math.ceil(raw * profile.factor),
    exact: profile.exactEncoding,
    family: profile.family,
    encoding: encoder.name,
    marginPct: profile.marginPct,
  };
}

/** Tokens of plain text (no chat framing) for `model`; `providerType` helps classify unknown model names. */
export async function countTextTokens(texts: string | readonly string[], model: string, providerType?: string): Promise<TextTokenCount> {
  return countTextTokensWith(await loadEncoding(tokenizerProfile(model, providerType).encoding), texts, model, providerType);
}

/**
 * Input tokens of an embeddings request: embeddings bill the bare text, no framing.
 * Pre-tokenized input (arrays of token ids) counts its length as is.
 */
export async function countEmbeddingInputTokens(input: EmbeddingInput, model: string, providerType?: string): Promise<TextTokenCount> {
  if (typeof input === "string") return countTextTokens(input, model, providerType);
  const texts: string[] = [];
  let ids = 0;
  for (const item of input) {
    if (typeof item === "string") texts.push(item);
    else if (typeof item === "number") ids++;
    else ids += item.length;
  }
  const counted = await countTextTokens(texts, model, providerType);
  return { ...counted, tokens: counted.tokens + ids };
}
