import type { EncodingName } from "./families";

/**
 * How each encoding splits text into pieces before BPE: the patterns tiktoken publishes
 * for cl100k_base and o200k_base, written for JavaScript's `u` flag (JavaScript has no
 * possessive quantifiers or case-insensitive groups, so the contraction suffix is spelled
 * out in both cases).
 */
const CONTRACTION = String.raw`'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])`;

const CL100K = String.raw`${CONTRACTION}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$|\s*[\r\n]|\s+(?!\S)|\s`;

const UPPER = String.raw`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`;
const LOWER = String.raw`[\p{Ll}\p{Lm}\p{Lo}\p{M}]`;
const O200K = [
  String.raw`[^\r\n\p{L}\p{N}]?${UPPER}*${LOWER}+(?:${CONTRACTION})?`,
  String.raw`[^\r\n\p{L}\p{N}]?${UPPER}+${LOWER}*(?:${CONTRACTION})?`,
  String.raw`\p{N}{1,3}`,
  String.raw` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
  String.raw`\s*[\r\n]+`,
  String.raw`\s+(?!\S)`,
  String.raw`\s+`,
].join("|");

export const SPLIT_PATTERNS: Record<EncodingName, RegExp> = {
  cl100k_base: new RegExp(CL100K, "gu"),
  o200k_base: new RegExp(O200K, "gu"),
};
