import { countTokens as cl100kReference } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as o200kReference } from "gpt-tokenizer/encoding/o200k_base";
import { beforeAll, describe, expect, it } from "vitest";
import { listFixtures, readFixture } from "@switchyard/mock-upstream/fixtures";
import { BpeCounter } from "./bpe";
import type { EncodingName } from "./families";
import { SPLIT_PATTERNS } from "./patterns";
import { loadRankData } from "./ranks";

// The reference: gpt-tokenizer itself, with special-token strings counted as text.
const AS_TEXT = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
const reference: Record<EncodingName, (text: string) => number> = {
  o200k_base: (t) => o200kReference(t, AS_TEXT),
  cl100k_base: (t) => cl100kReference(t, AS_TEXT),
};

// Seeded, so a failure names a text that can be reproduced.
function generator(seed: number) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  return { rand, pick };
}

const ALPHABETS = [
  "abcdefghijklmnopqrstuvwxyz",
  "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
  "0123456789",
  " \t\n\r\n  \n\n",
  "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
  "'s 're 've 'll 'd 'm 't 'S 'RE",
  "éèêëàâäôöûüçñßÆøåÉÈ",
  "日本語中文한국어テキスト漢字",
  "абвгдежзийклмнопрстуфхцчшщыэюя",
  "αβγδεζηθικλμνξοπρστυφχψω",
  "😀🎉👍🏽🇫🇷🧑‍💻",
  "\u0301\u0308\u0327", // combining marks
  "\uD800\uDFFF\uDC00", // lone surrogates (UTF-8 encoders write U+FFFD)
  "<|endoftext|><|im_start|>",
  "\u00a0\u2003\u3000", // non-ASCII spaces
];

function randomText(seed: number, length: number): string {
  const { rand, pick } = generator(seed);
  let out = "";
  while (out.length < length) {
    const alphabet = pick(ALPHABETS);
    const run = 1 + Math.floor(rand() * 12);
    for (let i = 0; i < run; i++) out += [...alphabet][Math.floor(rand() * [...alphabet].length)];
  }
  return out;
}

/** Every recorded provider fixture, whole: JSON, YAML, SSE, prose and code in many languages. */
function fixtureTexts(): { name: string; text: string }[] {
  return listFixtures().map((name) => ({ name, text: readFixture(name) }));
}

describe.each(["o200k_base", "cl100k_base"] as const)("BpeCounter (%s) against gpt-tokenizer", (name) => {
  let scan: BpeCounter; // merges always by rescanning
  let heap: BpeCounter; // merges always through the heap
  let shipped: BpeCounter;
  beforeAll(() => {
    const data = loadRankData(name);
    scan = new BpeCounter(data, SPLIT_PATTERNS[name], Number.MAX_SAFE_INTEGER);
    heap = new BpeCounter(data, SPLIT_PATTERNS[name], 0);
    shipped = new BpeCounter(data, SPLIT_PATTERNS[name]);
  });

  const agree = (text: string) => {
    const expected = reference[name](text);
    expect({ scan: scan.countTokens(text), heap: heap.countTokens(text), shipped: shipped.countTokens(text) }).toEqual({ scan: expected, heap: expected, shipped: expected });
    return expected;
  };

  it("counts every recorded fixture exactly as gpt-tokenizer does", () => {
    const texts = fixtureTexts();
    expect(texts.length).toBeGreaterThan(20);
    let total = 0;
    for (const { name: file, text } of texts) {
      const expected = reference[name](text);
      expect(shipped.countTokens(text), file).toBe(expected);
      expect(heap.countTokens(text), file).toBe(expected);
      total += expected;
    }
    expect(total).toBeGreaterThan(30_000);
  });

  it("counts random mixes of scripts, emoji, marks, whitespace and special-token strings exactly", () => {
    for (let seed = 1; seed <= 300; seed++) agree(randomText(seed, 50 + (seed % 7) * 150));
  });

  it("counts long pieces (one merge run of thousands of bytes) exactly and fast", () => {
    const { rand } = generator(99);
    const letters = Array.from({ length: 20_000 }, () => "abcdefghijklmnopqrstuvwxyz"[Math.floor(rand() * 26)]).join("");
    for (const text of ["a".repeat(10_000), letters, "é".repeat(3000), "!?".repeat(4000), " ".repeat(5000), "日本".repeat(2000)]) agree(text);
    // A 100k-letter piece: gpt-tokenizer rescans (quadratic: ~3.6 s here, blocking the event
    // loop); the heap takes ~60 ms. The bound only catches a return to quadratic merging.
    const long = letters.repeat(5);
    const t0 = performance.now();
    expect(shipped.countTokens(long)).toBeGreaterThan(long.length / 3);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it("counts edge cases exactly", () => {
    for (const text of ["", " ", "\n", "a", "I'm", "don't", "HELLO'S", "hello\r\n\r\nworld", "  leading and trailing  ", "123456789012", "x/y/z\n/", "\u0000\u0001"]) agree(text);
  });

  it("gives the same count on repeat (the memo of pieces changes nothing)", () => {
    const text = randomText(7, 2000);
    expect(shipped.countTokens(text)).toBe(shipped.countTokens(text));
  });

  it("holds the vocabulary in a few MB of buffers", () => {
    expect(shipped.sizeBytes).toBeLessThan(name === "o200k_base" ? 6_000_000 : 3_500_000);
  });
});
