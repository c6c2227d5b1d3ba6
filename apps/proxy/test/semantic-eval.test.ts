/**
 * Guards the semantic cache's measured quality on the labelled pairs
 * (test/fixtures/paraphrase-pairs.json) with the mock's lexical embedder: a change to the
 * index, the eligibility-independent matching or the embedder that lowers the hit rate or
 * raises false hits at the route default (0.95) or the recommended threshold fails here.
 * Runs through a real Redis (SWITCHYARD_TEST_REDIS_URL, default DB 5; keys under a prefix
 * of its own, removed afterwards).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { routeSemanticCacheSchema } from "@switchyard/contracts";
import { evaluateSemanticCache, loadParaphrasePairs, type SemanticEvaluation, type ThresholdResult } from "../bench/semantic-eval";

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/5";
let redis: Redis;
let viaRedis: SemanticEvaluation;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  viaRedis = await evaluateSemanticCache({ redis });
});
afterAll(() => redis.disconnect());

const at = (e: SemanticEvaluation, t: number): ThresholdResult => {
  const r = e.results.find((x) => x.threshold === t);
  if (!r) throw new Error(`no result at ${t}`);
  return r;
};
/** Rates are counts over 70 pairs: bounds as counts avoid float edge cases. */
const count = (rate: number) => Math.round(rate * 70);

describe("paraphrase pairs", () => {
  it("the fixture: ≥ 60 paraphrases and ≥ 60 near-misses, unique ids, no pair twice", () => {
    const pairs = loadParaphrasePairs();
    expect(pairs.filter((p) => p.label === "same").length).toBeGreaterThanOrEqual(60);
    expect(pairs.filter((p) => p.label === "different").length).toBeGreaterThanOrEqual(60);
    expect(new Set(pairs.map((p) => p.id)).size).toBe(pairs.length);
    expect(new Set(pairs.map((p) => `${p.a}\u0000${p.b}`)).size).toBe(pairs.length);
    expect(pairs.every((p) => p.a.trim() !== "" && p.b.trim() !== "" && p.a !== p.b)).toBe(true);
  });

  it("the shared (Redis) index measures exactly what the in-process one does", async () => {
    const local = await evaluateSemanticCache({ redis: null });
    expect(viaRedis.results).toEqual(local.results);
  });

  it("at the route default threshold (0.95): hits ≥ 13/70, no false hit, no wrong answer", () => {
    expect(routeSemanticCacheSchema.parse({ embeddingModel: "e" }).threshold).toBe(0.95);
    const r = at(viaRedis, 0.95);
    expect(viaRedis.samePairs).toBe(70);
    expect(viaRedis.differentPairs).toBe(70);
    // Measured: 13/70 (18.6%) hits, 0 false hits, both alone and pooled.
    expect(count(r.pairs.hitRate)).toBeGreaterThanOrEqual(13);
    expect(count(r.pooled.hitRate)).toBeGreaterThanOrEqual(13);
    expect(count(r.pairs.falseHitRate)).toBe(0);
    expect(count(r.pooled.falseHitRate)).toBe(0);
    expect(count(r.pooled.wrongAnswerRate)).toBe(0);
  });

  it("the recommended threshold (measured 0.88): hits ≥ 20/70, false hits ≤ 1/70", () => {
    const rec = viaRedis.recommended;
    expect(rec?.threshold).toBe(0.88);
    // Measured: 20/70 (28.6%) hits, 1/70 (1.4%) false hits, no wrong answer.
    expect(count(rec!.pooled.hitRate)).toBeGreaterThanOrEqual(20);
    expect(count(rec!.pooled.falseHitRate)).toBeLessThanOrEqual(1);
    expect(count(rec!.pooled.wrongAnswerRate)).toBe(0);
    expect(count(rec!.pairs.falseHitRate)).toBeLessThanOrEqual(1);
  });

  it("a lower threshold trades false hits for hits (the table is monotonic)", () => {
    for (let i = 1; i < viaRedis.results.length; i++) {
      const [lower, higher] = [viaRedis.results[i - 1]!, viaRedis.results[i]!];
      expect(lower.pairs.hitRate).toBeGreaterThanOrEqual(higher.pairs.hitRate);
      expect(lower.pairs.falseHitRate).toBeGreaterThanOrEqual(higher.pairs.falseHitRate);
    }
    // At 0.80 the lexical embedder already answers near-misses from the cache.
    expect(count(at(viaRedis, 0.8).pooled.falseHitRate)).toBeGreaterThan(1);
  });
});
