/**
 * Which tokenizer a model uses, and how far our count can be trusted.
 *
 * OpenAI models are counted with their own BPE encoding (gpt-tokenizer), which is exact
 * for text. Other vendors do not publish a JavaScript tokenizer we could ship, so their
 * counts are an estimate: the text is counted with o200k_base (a 200k-vocabulary BPE,
 * close to Gemini's, Mistral's Tekken and Llama 3's vocabularies) and scaled by a
 * per-family factor. The stated margin is what the estimate is designed to stay within
 * on ordinary English/code prompts; see README.md for how it was checked.
 */

export type EncodingName = "o200k_base" | "cl100k_base";

export type ModelFamily =
  | "openai-o200k"
  | "openai-cl100k"
  | "anthropic"
  | "gemini"
  | "mistral"
  | "cohere"
  | "llama"
  | "other";

export interface TokenizerProfile {
  family: ModelFamily;
  /** The BPE the text is counted with (the model's own for OpenAI, a proxy otherwise). */
  encoding: EncodingName;
  /** True when `encoding` is the model's own tokenizer (text counts are exact). */
  exactEncoding: boolean;
  /** Proxy count × factor = estimate (1 for OpenAI). */
  factor: number;
  /** Relative error the estimate is expected to stay within, in percent (0 = exact). */
  marginPct: number;
  /**
   * Chat framing: tokens per message and for the reply primer. OpenAI bills
   * `<|im_start|>{role}<|im_sep|>…<|im_end|>` (3 + role) per message and 3 to prime the
   * reply; Gemini bills the bare text (checked against recorded usage).
   */
  perMessage: number;
  replyPrimer: number;
}

/** `openai/gpt-4o` (OpenRouter), `ft:gpt-4o-mini:org::id` (fine-tunes), `models/gemini-…` → the bare model id. */
export function normalizeModelName(model: string): string {
  let m = model.trim().toLowerCase();
  if (m.startsWith("ft:")) m = m.slice(3).split(":")[0] ?? m;
  const slash = m.lastIndexOf("/");
  if (slash !== -1) m = m.slice(slash + 1);
  return m;
}

// Order matters: gpt-4o / gpt-4.1 / gpt-4.5 must be tested before plain gpt-4.
const O200K = /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|chatgpt-|o1|o3|o4|codex-|computer-use|omni-moderation)/;
const CL100K = /^(gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)/;

const OPENAI_FRAMING = { perMessage: 3, replyPrimer: 3 };

/** Family by provider type, for model names that do not say (e.g. Gemini's "text-embedding-004"). */
const FAMILY_OF_PROVIDER: Record<string, string> = { anthropic: "claude", gemini: "gemini", mistral: "mistral", cohere: "command" };

/**
 * The tokenizer profile of a model. `providerType` (a ProviderCredential type) is used
 * only when the model name matches no known family.
 */
export function tokenizerProfile(model: string, providerType?: string): TokenizerProfile {
  // The proxy asks for the same few model names on every request (twice for a TPM
  // estimate): the answer is kept, frozen, rather than lowercased and matched again.
  let byModel = profiles.get(providerType ?? "");
  if (!byModel) profiles.set(providerType ?? "", (byModel = new Map<string, TokenizerProfile>()));
  const known = byModel.get(model);
  if (known) return known;
  const profile = Object.freeze(classify(model, providerType));
  // Names come from configuration, but a caller may pass clients' strings: bounded.
  if (byModel.size >= MAX_PROFILES) byModel.clear();
  byModel.set(model, profile);
  return profile;
}

/** Profiles already classified: provider type ("" for none) → model name → profile. */
const profiles = new Map<string, Map<string, TokenizerProfile>>();
const MAX_PROFILES = 1024;

function classify(model: string, providerType: string | undefined): TokenizerProfile {
  const byName = profileByName(normalizeModelName(model));
  if (byName.family !== "other" || !providerType) return byName;
  const hint = FAMILY_OF_PROVIDER[providerType];
  return hint ? profileByName(hint) : byName;
}

function profileByName(m: string): TokenizerProfile {
  if (O200K.test(m)) return { family: "openai-o200k", encoding: "o200k_base", exactEncoding: true, factor: 1, marginPct: 0, ...OPENAI_FRAMING };
  if (CL100K.test(m)) return { family: "openai-cl100k", encoding: "cl100k_base", exactEncoding: true, factor: 1, marginPct: 0, ...OPENAI_FRAMING };
  // Claude's tokenizer splits English into ~20% more pieces than o200k_base.
  if (m.includes("claude")) return { family: "anthropic", encoding: "o200k_base", exactEncoding: false, factor: 1.2, marginPct: 25, ...OPENAI_FRAMING };
  // Gemini counts the bare text; o200k_base matched its recorded counts exactly on English.
  if (m.includes("gemini") || m.includes("gemma")) {
    return { family: "gemini", encoding: "o200k_base", exactEncoding: false, factor: 1, marginPct: 15, perMessage: 0, replyPrimer: 0 };
  }
  if (/mistral|mixtral|codestral|magistral|pixtral|ministral|devstral/.test(m)) {
    return { family: "mistral", encoding: "o200k_base", exactEncoding: false, factor: 1.1, marginPct: 25, ...OPENAI_FRAMING };
  }
  if (/^(command|c4ai|aya|embed-|rerank-)/.test(m)) return { family: "cohere", encoding: "o200k_base", exactEncoding: false, factor: 1.1, marginPct: 25, ...OPENAI_FRAMING };
  if (m.includes("llama")) return { family: "llama", encoding: "o200k_base", exactEncoding: false, factor: 1.1, marginPct: 25, ...OPENAI_FRAMING };
  return { family: "other", encoding: "o200k_base", exactEncoding: false, factor: 1.15, marginPct: 30, ...OPENAI_FRAMING };
}
