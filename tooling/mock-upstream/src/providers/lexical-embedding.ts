/**
 * A deterministic LEXICAL embedder for the mock's /v1/embeddings (option
 * `startMockUpstream({ embeddings: "lexical" })`): it lets the semantic cache be tested
 * and measured without model weights, which this machine cannot download.
 *
 * Be clear about what it is: a bag of words, not a language model. Texts that share
 * (stemmed) words score high, paraphrases with different words score low, and two
 * prompts that differ in one word out of many (another number, another city) still
 * score high. Measurements made with it (apps/proxy/bench/semantic-eval.ts) describe this
 * embedder, not a real embedding model.
 *
 * Pipeline: lowercase, fold accents, expand "n't" to "not", strip punctuation, drop
 * English stop words (negations and numbers are kept: they change a question's
 * meaning), light suffix stemming, then hashed features (unigrams, bigrams of
 * neighbouring kept words, character trigrams of each word) with a sign hash, L2-normalised.
 */

/** Common English function words and request fillers. Negations ("not", "no", "never", "without") are deliberately absent. */
const STOP_WORDS = new Set(
  (
    "a an the and or but if then so than as of in on at to for from by with about into onto over under " +
    "is are was were be been being am do does did done doing have has had having " +
    "i me my mine we us our you your yours he him his she her it its they them their " +
    "this that these those there here what which how whats hows " +
    "can could would should will shall may might must " +
    "please tell show give let lets im ive id youre thanks thank hi hello hey just some any " +
    "way ways get got want need like also really very quite"
  ).split(" "),
);

const VOWEL = /[aeiouy]/;

/** A light suffix stemmer (plural, -ing, -ed, -ly, final e): enough to match "reversing", "reversed" and "reverse". */
export function lightStem(word: string): string {
  let w = word;
  if (w.length <= 3 || /^\d/.test(w)) return w;
  if (w.endsWith("ies") && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith("sses")) w = w.slice(0, -2);
  else if (/(?:x|z|ch|sh|ss)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith("s") && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  for (const suffix of ["ing", "ed", "ly"]) {
    const stem = w.slice(0, -suffix.length);
    if (w.endsWith(suffix) && stem.length >= 3 && VOWEL.test(stem)) {
      w = stem;
      // "running" → "runn" → "run"; but "fall", "pass", "buzz" keep theirs.
      if (/([^aeiouylsz])\1$/.test(w)) w = w.slice(0, -1);
      break;
    }
  }
  if (w.length > 4 && w.endsWith("e")) w = w.slice(0, -1);
  return w;
}

/** The kept, stemmed words of a text, in order. */
export function lexicalTokens(text: string): string[] {
  const folded = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/n['’]t\b/g, " not")
    .replace(/['’]/g, "")
    .replace(/[^a-z0-9]+/g, " ");
  return folded
    .split(" ")
    .filter((w) => w !== "" && !STOP_WORDS.has(w))
    .map(lightStem);
}

/** FNV-1a 32-bit. */
function fnv1a(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** A second, independent-enough hash bit for the feature's sign (reduces collision bias). */
function signOf(h: number): 1 | -1 {
  let x = Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b) >>> 0;
  return (x ^ (x >>> 16)) & 1 ? 1 : -1;
}

const UNIGRAM_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.7;
const TRIGRAM_WEIGHT = 0.3;

/**
 * The lexical embedding of a text: a unit vector of `dimensions` floats (rounded through
 * float32 as real providers' are), or null when the text has no word to embed (only
 * stop words or punctuation); the caller falls back to its opaque hash vector then.
 */
export function lexicalEmbedding(text: string, dimensions: number): number[] | null {
  const tokens = lexicalTokens(text);
  if (tokens.length === 0 || dimensions <= 0) return null;
  const v = new Float64Array(dimensions);
  const addFeature = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    v[h % dimensions]! += signOf(h) * weight;
  };
  tokens.forEach((t, i) => {
    addFeature(`u:${t}`, UNIGRAM_WEIGHT);
    if (i > 0) addFeature(`b:${tokens[i - 1]}|${t}`, BIGRAM_WEIGHT);
    const padded = `#${t}#`;
    for (let j = 0; j + 3 <= padded.length; j++) addFeature(`c:${padded.slice(j, j + 3)}`, TRIGRAM_WEIGHT);
  });
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) return null;
  return Array.from(v, (x) => Math.fround(x / norm));
}
