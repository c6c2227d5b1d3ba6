import { createRequire } from "node:module";
import type { RankData } from "./bpe";
import type { EncodingName } from "./families";

/**
 * The vocabularies come from gpt-tokenizer's rank lists: an array of ~200k strings (index =
 * rank; a byte array for a token that is not valid UTF-8; a hole for an unused rank), 2.4 MB
 * of JavaScript for o200k_base. Packed into RankData they take ~1.7 MB of buffers. Whatever
 * loads the list in-process keeps ~7 MB of it on the heap for good (Node never unloads a
 * module, and dropping it from require's cache frees nothing measurable), so a long-lived
 * process loads it elsewhere: see setRankLoader and the proxy's rank-loader.ts.
 */
const require = createRequire(import.meta.url);

export type RankList = readonly (string | readonly number[] | undefined)[];

/**
 * Packs a rank list: the tokens' UTF-8 bytes end to end, and where each starts.
 * Self-contained (globals only): the proxy's rank worker runs its source text as is.
 */
export function packRanks(list: RankList): RankData {
  const utf8 = new TextEncoder();
  const encoded: (Uint8Array | null)[] = new Array<Uint8Array | null>(list.length);
  let total = 0;
  for (let rank = 0; rank < list.length; rank++) {
    const token = list[rank];
    const bytes = token === undefined ? null : typeof token === "string" ? utf8.encode(token) : Uint8Array.from(token);
    encoded[rank] = bytes;
    if (bytes) total += bytes.length;
  }
  const bytes = new Uint8Array(total);
  const offsets = new Uint32Array(list.length + 1);
  let at = 0;
  for (let rank = 0; rank < list.length; rank++) {
    offsets[rank] = at;
    const b = encoded[rank];
    if (b) {
      bytes.set(b, at);
      at += b.length;
    }
  }
  offsets[list.length] = at;
  return { bytes, offsets };
}

/** Where gpt-tokenizer's rank list for `name` is: its CommonJS build, which `require` takes in any thread. */
export function rankListPath(name: EncodingName): string {
  return require.resolve(`gpt-tokenizer/bpeRanks/${name}`);
}

/** `name`'s vocabulary as RankData, loaded in this thread (~0.2 s). */
export function loadRankData(name: EncodingName): RankData {
  const mod = require(rankListPath(name)) as { default: RankList } | RankList;
  return packRanks(Array.isArray(mod) ? (mod as RankList) : (mod as { default: RankList }).default);
}
