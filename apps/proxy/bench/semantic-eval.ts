/**
 * Semantic cache evaluation on labelled prompt pairs (test/fixtures/paraphrase-pairs.json):
 *   pnpm --filter @switchyard/proxy bench:semantic [--dimensions 1536] [--redis redis://127.0.0.1:6379/5] [--json]
 *
 * Embeds every prompt with the mock upstream's LEXICAL embedder (the vectors the mock
 * serves with `embeddings: "lexical"`; this machine has no real embedding model) and
 * runs the pairs through SemanticIndex, at thresholds 0.80 to 0.98:
 * - pairs: each pair alone in its context: `a` is cached, `b` is looked up.
 * - pooled: every `a` cached in one context, every `b` looked up (other pairs'
 *   answers compete, as in a busy cache).
 * Hit rate: paraphrases ("same") answered with their own answer. False-hit rate:
 * near-misses ("different") answered from the cache at all. Wrong-answer rate (pooled):
 * paraphrases answered with another prompt's answer. The recommended threshold is the one
 * with the best pooled hit rate whose pooled false-hit and wrong-answer rates stay at or
 * below 2%.
 *
 * The numbers describe a bag-of-words embedder: it matches paraphrases that reuse the
 * words and misses those that do not, and it cannot tell "capital of France" from
 * "capital of Germany" by meaning, only by the one word that differs. A real embedding
 * model gives different numbers; re-run this with its vectors before trusting a threshold.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { lexicalEmbedding } from "@switchyard/mock-upstream";
import { SemanticIndex } from "../src/cache/semantic";

export interface ParaphrasePair {
  id: string;
  label: "same" | "different";
  /** How b differs from a (synonym, reorder, number, negation, entity, …). */
  kind: string;
  a: string;
  b: string;
}

export interface ThresholdResult {
  threshold: number;
  /** Each pair alone. */
  pairs: { hitRate: number; falseHitRate: number };
  /** All pairs in one cache. */
  pooled: { hitRate: number; falseHitRate: number; wrongAnswerRate: number };
}

export interface SemanticEvaluation {
  embedder: string;
  dimensions: number;
  samePairs: number;
  differentPairs: number;
  results: ThresholdResult[];
  /** Best pooled hit rate with pooled false hits and wrong answers ≤ maxFalseRate; null when no threshold qualifies. */
  recommended: ThresholdResult | null;
  maxFalseRate: number;
}

export const FIXTURE_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), "../test/fixtures/paraphrase-pairs.json");
export const THRESHOLDS = Array.from({ length: 19 }, (_, i) => Math.round((0.8 + i * 0.01) * 100) / 100);

export function loadParaphrasePairs(file = FIXTURE_PATH): ParaphrasePair[] {
  return (JSON.parse(readFileSync(file, "utf8")) as { pairs: ParaphrasePair[] }).pairs;
}

function embed(text: string, dimensions: number): Float32Array {
  const v = lexicalEmbedding(text, dimensions);
  if (!v) throw new Error(`the lexical embedder left nothing of ${JSON.stringify(text)}`);
  return Float32Array.from(v);
}

export interface EvaluateOptions {
  pairs?: ParaphrasePair[];
  dimensions?: number;
  /** Run through Redis (as replicas share it) instead of an in-process index. */
  redis?: Redis | null;
  maxFalseRate?: number;
}

export async function evaluateSemanticCache(opts: EvaluateOptions = {}): Promise<SemanticEvaluation> {
  const pairs = opts.pairs ?? loadParaphrasePairs();
  const dimensions = opts.dimensions ?? 1536;
  const maxFalseRate = opts.maxFalseRate ?? 0.02;
  const redis = opts.redis ?? null;
  const prefix = `bench:semantic:${process.pid}:${Date.now()}`;
  const index = new SemanticIndex({ redis, prefix, timeoutMs: 5000 });
  const vectors = new Map<string, Float32Array>();
  const vectorOf = (t: string) => vectors.get(t) ?? vectors.set(t, embed(t, dimensions)).get(t)!;
  const same = pairs.filter((p) => p.label === "same");
  const different = pairs.filter((p) => p.label === "different");

  // Each pair in a context of its own; the pooled context holds every `a` once (answer key = its text).
  for (const p of pairs) await index.add("pairs", p.id, vectorOf(p.a), p.a, 3600);
  for (const a of new Set(pairs.map((p) => p.a))) await index.add("pooled", "all", vectorOf(a), a, 3600);

  const results: ThresholdResult[] = [];
  for (const threshold of THRESHOLDS) {
    let pairHits = 0;
    let pairFalse = 0;
    let pooledHits = 0;
    let pooledFalse = 0;
    let pooledWrong = 0;
    for (const p of pairs) {
      const alone = await index.lookup("pairs", p.id, vectorOf(p.b), threshold);
      const pooled = await index.lookup("pooled", "all", vectorOf(p.b), threshold);
      if (p.label === "same") {
        if (alone) pairHits++;
        if (pooled?.answerKey === p.a) pooledHits++;
        else if (pooled) pooledWrong++;
      } else {
        if (alone) pairFalse++;
        if (pooled) pooledFalse++;
      }
    }
    results.push({
      threshold,
      pairs: { hitRate: pairHits / same.length, falseHitRate: pairFalse / different.length },
      pooled: { hitRate: pooledHits / same.length, falseHitRate: pooledFalse / different.length, wrongAnswerRate: pooledWrong / same.length },
    });
  }
  if (redis) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }

  let recommended: ThresholdResult | null = null;
  for (const r of results) {
    if (r.pooled.falseHitRate > maxFalseRate || r.pooled.wrongAnswerRate > maxFalseRate) continue;
    // Thresholds ascend: on equal hit rates the stricter (later) threshold wins.
    if (!recommended || r.pooled.hitRate >= recommended.pooled.hitRate) recommended = r;
  }
  return { embedder: "mock-upstream lexical (bag of words, not a language model)", dimensions, samePairs: same.length, differentPairs: different.length, results, recommended, maxFalseRate };
}

const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;

export function formatEvaluation(e: SemanticEvaluation): string {
  const lines = [
    `Semantic cache on ${e.samePairs} paraphrase pairs and ${e.differentPairs} near-miss pairs; embedder: ${e.embedder}, ${e.dimensions} dims`,
    "",
    "threshold | pairs: hit   false-hit | pooled: hit   false-hit  wrong-answer",
  ];
  for (const r of e.results) {
    lines.push(
      `   ${r.threshold.toFixed(2)}   |       ${pct(r.pairs.hitRate)}   ${pct(r.pairs.falseHitRate)}  |        ${pct(r.pooled.hitRate)}   ${pct(r.pooled.falseHitRate)}     ${pct(r.pooled.wrongAnswerRate)}`,
    );
  }
  lines.push("");
  lines.push(
    e.recommended
      ? `Recommended threshold: ${e.recommended.threshold.toFixed(2)} (best pooled hit rate with false hits and wrong answers ≤ ${pct(e.maxFalseRate).trim()}): hit ${pct(e.recommended.pooled.hitRate).trim()}, false hits ${pct(e.recommended.pooled.falseHitRate).trim()}`
      : `No threshold keeps false hits and wrong answers ≤ ${pct(e.maxFalseRate).trim()}.`,
  );
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dimensions: { type: "string", default: "1536" },
      redis: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const redis = values.redis ? new Redis(values.redis, { maxRetriesPerRequest: 1 }) : null;
  try {
    const e = await evaluateSemanticCache({ dimensions: Number(values.dimensions), redis });
    console.log(values.json ? JSON.stringify(e, null, 2) : formatEvaluation(e));
  } finally {
    redis?.disconnect();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
