import { BpeCounter, type RankData } from "./bpe";
import type { EncodingName } from "./families";
import { SPLIT_PATTERNS } from "./patterns";
import { loadRankData } from "./ranks";

/** A loaded BPE: counts tokens of plain text. */
export interface TextEncoder {
  readonly name: EncodingName;
  countTokens(text: string): number;
}

const loaded = new Map<EncodingName, TextEncoder>();
const loading = new Map<EncodingName, Promise<TextEncoder>>();

/**
 * Loaded on first use only (~0.2 s to read gpt-tokenizer's rank list and pack it), so a
 * process that never needs a count does not pay for it. Special-token strings
 * in user text ("<|endoftext|>") are ordinary text to the API, and to this counter.
 */
/** Where vocabularies come from: this thread by default; the proxy sets a worker (see ranks.ts). */
export type RankLoader = (name: EncodingName) => RankData | Promise<RankData>;

let rankLoader: RankLoader = loadRankData;

/** Sets how vocabularies load from now on (encodings already loaded stay). */
export function setRankLoader(loader: RankLoader): void {
  rankLoader = loader;
}

async function buildEncoding(name: EncodingName): Promise<TextEncoder> {
  const counter = new BpeCounter(await rankLoader(name), SPLIT_PATTERNS[name]);
  return { name, countTokens: (text) => counter.countTokens(text) };
}

/** The encoder, loading it on first call (concurrent callers share one load). */
export function loadEncoding(name: EncodingName): Promise<TextEncoder> {
  const ready = loaded.get(name);
  if (ready) return Promise.resolve(ready);
  let pending = loading.get(name);
  if (!pending) {
    pending = Promise.resolve(name).then(buildEncoding).then((enc) => {
      loaded.set(name, enc);
      loading.delete(name);
      return enc;
    });
    pending.catch(() => loading.delete(name));
    loading.set(name, pending);
  }
  return pending;
}

/** The encoder if it is already loaded (lets hot paths stay synchronous), else null. */
export function loadedEncoding(name: EncodingName): TextEncoder | null {
  return loaded.get(name) ?? null;
}

/** Loads encodings ahead of the first request (e.g. at proxy boot). */
export async function preloadEncodings(names: readonly EncodingName[] = ["o200k_base", "cl100k_base"]): Promise<void> {
  await Promise.all(names.map(loadEncoding));
}
