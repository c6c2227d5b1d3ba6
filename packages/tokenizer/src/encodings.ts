import type { EncodingName } from "./families";

/** A loaded BPE: counts tokens of plain text. */
export interface TextEncoder {
  readonly name: EncodingName;
  countTokens(text: string): number;
}

// Special-token strings in user text ("<|endoftext|>") are ordinary text to the API,
// so they must not make the encoder throw.
const AS_TEXT = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

const loaded = new Map<EncodingName, TextEncoder>();
const loading = new Map<EncodingName, Promise<TextEncoder>>();

/**
 * Imported on first use only: the rank tables are large (o200k_base ≈ 2.4 MB of JS,
 * ~150 ms to load), and a proxy that never needs a count should not pay for them.
 */
async function importEncoding(name: EncodingName): Promise<TextEncoder> {
  const mod = name === "o200k_base" ? await import("gpt-tokenizer/encoding/o200k_base") : await import("gpt-tokenizer/encoding/cl100k_base");
  return { name, countTokens: (text) => (text === "" ? 0 : mod.countTokens(text, AS_TEXT)) };
}

/** The encoder, loading it on first call (concurrent callers share one load). */
export function loadEncoding(name: EncodingName): Promise<TextEncoder> {
  const ready = loaded.get(name);
  if (ready) return Promise.resolve(ready);
  let pending = loading.get(name);
  if (!pending) {
    pending = importEncoding(name).then((enc) => {
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
