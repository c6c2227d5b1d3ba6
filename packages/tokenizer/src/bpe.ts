/**
 * A byte-pair-encoding token counter over a compact rank table.
 *
 * gpt-tokenizer keeps an encoding's vocabulary as JavaScript strings in a Map: ~30 MB of
 * live heap for o200k_base and cl100k_base together, which a proxy carries for its whole
 * life and which V8's heap sizing multiplies. Here the vocabulary is one byte array (the
 * tokens' bytes end to end), their offsets, and an open-addressing hash table of ranks:
 * ~3.5 MB for o200k_base, none of it on the JavaScript heap's object graph.
 *
 * The algorithm is byte-level BPE as tiktoken defines it: the text is split by the
 * encoding's pattern; a piece that is a token counts one; otherwise its bytes start as
 * single-byte parts and the adjacent pair whose joined bytes have the lowest rank is
 * merged (the leftmost on a tie) until no pair is a token. We only count, so the parts
 * are never turned into ids.
 */

/** An encoding's vocabulary: token `r` is `bytes[offsets[r] .. offsets[r + 1])` (empty: no token has rank r). */
export interface RankData {
  bytes: Uint8Array;
  offsets: Uint32Array;
}

/** No rank: the bytes are not a token. Larger than any rank, so min-searches need no special case. */
const NONE = 0x7fffffff;

/** Pieces up to this many bytes merge by rescanning a small array (fast for words); longer ones use a heap (n log n). */
const SCAN_MAX_BYTES = 64;

/** Pieces this long or shorter have their counts remembered; the memo starts over at MEMO_MAX entries. */
const MEMO_PIECE_CHARS = 32;
const MEMO_MAX = 16_384;

const utf8 = new TextEncoder();

function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export class BpeCounter {
  private readonly bytes: Uint8Array;
  private readonly offsets: Uint32Array;
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly pattern: RegExp;
  private readonly memo = new Map<string, number>();
  private scratch = new Uint8Array(1024);
  // Merge state, reused across pieces (grown on demand).
  private starts = new Int32Array(SCAN_MAX_BYTES + 1);
  private pairRanks = new Int32Array(SCAN_MAX_BYTES);
  private next = new Int32Array(0);
  private prev = new Int32Array(0);
  private readonly heap = new PairHeap();

  /**
   * @param data the vocabulary (see RankData)
   * @param pattern the encoding's split pattern (with the `u` flag; `g` is added)
   * @param scanMaxBytes where merging switches from rescanning to the heap (tests force either path)
   */
  constructor(
    data: RankData,
    pattern: RegExp,
    private readonly scanMaxBytes = SCAN_MAX_BYTES,
  ) {
    this.bytes = data.bytes;
    this.offsets = data.offsets;
    this.pattern = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`);
    const tokens = data.offsets.length - 1;
    let size = 1;
    while (size < tokens * 2) size <<= 1;
    this.table = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (let rank = 0; rank < tokens; rank++) {
      const start = data.offsets[rank]!;
      const end = data.offsets[rank + 1]!;
      if (end === start) continue; // a hole in the vocabulary
      // A duplicate (never in a real vocabulary) keeps its lowest rank, as a lookup table would.
      if (this.rankOf(data.bytes, start, end) !== NONE) continue;
      let slot = fnv1a(data.bytes, start, end) & this.mask;
      while (this.table[slot] !== -1) slot = (slot + 1) & this.mask;
      this.table[slot] = rank;
    }
  }

  /** Bytes held by the vocabulary and its index (for the README's memory figures). */
  get sizeBytes(): number {
    return this.bytes.byteLength + this.offsets.byteLength + this.table.byteLength;
  }

  /** Tokens in `text`, with special-token strings counted as ordinary text (as the API does for user text). */
  countTokens(text: string): number {
    if (text === "") return 0;
    let count = 0;
    const pattern = this.pattern;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      const piece = m[0];
      if (piece === "") {
        pattern.lastIndex++; // never happens with the shipped patterns; guards a custom one
        continue;
      }
      count += this.countPiece(piece);
    }
    return count;
  }

  private countPiece(piece: string): number {
    const memoable = piece.length <= MEMO_PIECE_CHARS;
    if (memoable) {
      const known = this.memo.get(piece);
      if (known !== undefined) return known;
    }
    if (this.scratch.length < piece.length * 3) this.scratch = new Uint8Array(piece.length * 3);
    const n = utf8.encodeInto(piece, this.scratch).written;
    let tokens: number;
    if (this.rankOf(this.scratch, 0, n) !== NONE) tokens = 1;
    else tokens = n <= this.scanMaxBytes ? this.mergeByScan(n) : this.mergeByHeap(n);
    if (memoable) {
      if (this.memo.size >= MEMO_MAX) this.memo.clear();
      this.memo.set(piece, tokens);
    }
    return tokens;
  }

  /** The rank of `buf[start..end)`, or NONE. */
  private rankOf(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    const { bytes, offsets, table, mask } = this;
    for (let slot = fnv1a(buf, start, end) & mask; ; slot = (slot + 1) & mask) {
      const rank = table[slot]!;
      if (rank === -1) return NONE;
      const at = offsets[rank]!;
      if (offsets[rank + 1]! - at !== len) continue;
      let i = 0;
      while (i < len && bytes[at + i] === buf[start + i]) i++;
      if (i === len) return rank;
    }
  }

  /** Parts left after merging the n bytes in scratch, by rescanning the pairs after each merge. */
  private mergeByScan(n: number): number {
    if (this.starts.length < n + 1) {
      this.starts = new Int32Array(n + 1);
      this.pairRanks = new Int32Array(n);
    }
    const { starts, pairRanks, scratch } = this;
    for (let i = 0; i <= n; i++) starts[i] = i;
    let parts = n;
    for (let i = 0; i < parts - 1; i++) pairRanks[i] = this.rankOf(scratch, starts[i]!, starts[i + 2]!);
    for (;;) {
      let best = NONE;
      let at = -1;
      for (let i = 0; i < parts - 1; i++) {
        if (pairRanks[i]! < best) {
          best = pairRanks[i]!;
          at = i;
        }
      }
      if (at === -1) return parts;
      // Part at+1 joins part at.
      starts.copyWithin(at + 1, at + 2, parts + 1);
      pairRanks.copyWithin(at + 1, at + 2, parts - 1);
      parts--;
      if (at > 0) pairRanks[at - 1] = this.rankOf(scratch, starts[at - 1]!, starts[at + 1]!);
      if (at < parts - 1) pairRanks[at] = this.rankOf(scratch, starts[at]!, starts[at + 2]!);
    }
  }

  /**
   * The same merges for long pieces: parts as a linked list over byte positions, candidate
   * pairs in a min-heap ordered by (rank, position), so the leftmost lowest pair comes
   * first as in the rescan. An entry is stale when its left part was merged away or its
   * right end moved; stale entries are skipped.
   */
  private mergeByHeap(n: number): number {
    if (this.next.length < n + 1) {
      this.next = new Int32Array(n + 1);
      this.prev = new Int32Array(n + 1);
    }
    const { next, prev, scratch, heap } = this;
    heap.reset(3 * n); // n - 1 pairs at first, at most 2 more per merge
    for (let i = 0; i <= n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    for (let i = 0; i + 2 <= n; i++) {
      const rank = this.rankOf(scratch, i, i + 2);
      if (rank !== NONE) heap.push(rank, i, i + 2);
    }
    let parts = n;
    while (heap.size > 0) {
      heap.pop();
      const { left, end } = heap;
      const right = next[left]!;
      if (right === -1 || right >= n || next[right] !== end) continue; // stale
      next[left] = end;
      next[right] = -1;
      if (end < n) prev[end] = left;
      parts--;
      if (left > 0) {
        const before = prev[left]!;
        const rank = this.rankOf(scratch, before, end);
        if (rank !== NONE) heap.push(rank, before, end);
      }
      if (end < n) {
        const after = next[end]!;
        const rank = this.rankOf(scratch, left, after);
        if (rank !== NONE) heap.push(rank, left, after);
      }
    }
    return parts;
  }
}

/** A min-heap of candidate pairs (rank, left start, right end), ordered by rank, then left start. */
class PairHeap {
  size = 0;
  /** The pair the last pop() took out. */
  left = 0;
  end = 0;
  private rank = new Int32Array(0);
  private lefts = new Int32Array(0);
  private ends = new Int32Array(0);

  /** Empties the heap, with room for `capacity` pushes. */
  reset(capacity: number): void {
    this.size = 0;
    if (this.rank.length < capacity) {
      this.rank = new Int32Array(capacity);
      this.lefts = new Int32Array(capacity);
      this.ends = new Int32Array(capacity);
    }
  }

  push(rank: number, left: number, end: number): void {
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.before(parent, rank, left)) break;
      this.move(parent, i);
      i = parent;
    }
    this.put(i, rank, left, end);
  }

  /** Takes out the least pair into `left` and `end`. */
  pop(): void {
    this.left = this.lefts[0]!;
    this.end = this.ends[0]!;
    const last = --this.size;
    const rank = this.rank[last]!;
    const left = this.lefts[last]!;
    const end = this.ends[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && this.before(child + 1, this.rank[child]!, this.lefts[child]!)) child++;
      if (!this.before(child, rank, left)) break;
      this.move(child, i);
      i = child;
    }
    this.put(i, rank, left, end);
  }

  /** Whether entry i comes before (rank, left). */
  private before(i: number, rank: number, left: number): boolean {
    const r = this.rank[i]!;
    return r < rank || (r === rank && this.lefts[i]! < left);
  }

  private move(from: number, to: number): void {
    this.put(to, this.rank[from]!, this.lefts[from]!, this.ends[from]!);
  }

  private put(i: number, rank: number, left: number, end: number): void {
    this.rank[i] = rank;
    this.lefts[i] = left;
    this.ends[i] = end;
  }
}
