import { spawn } from "node:child_process";
import { packRanks, rankListPath, type EncodingName, type RankData } from "@switchyard/tokenizer";

/**
 * Loads a vocabulary in a short-lived child process: it requires gpt-tokenizer's rank list,
 * packs it with the tokenizer's own packRanks (its source text, run as is) and writes the
 * two arrays to stdout. Whatever parsing the 2.4 MB list costs stays in the child:
 * in-process, the list keeps ~7 MB on the heap for good (packages/tokenizer/src/ranks.ts),
 * and even in a worker thread its parse leaves ~44 MB of malloc'd memory resident in
 * that thread's arena after it exits (seen in /proc/<pid>/smaps). A process gives all of
 * it back. The child's code is plain JavaScript from a string, so it runs the same from
 * src (tests) and from dist/main.js.
 *
 * Wire format: offsets count (uint32 LE), the offsets (the Uint32Array's own bytes: parent and
 * child are the same machine), then the bytes.
 */
const CHILD_SOURCE = `
const mod = require(process.argv[1]);
const data = (${packRanks.toString()})(Array.isArray(mod) ? mod : mod.default);
const head = Buffer.alloc(4);
head.writeUInt32LE(data.offsets.length, 0);
process.stdout.write(head);
process.stdout.write(Buffer.from(data.offsets.buffer, data.offsets.byteOffset, data.offsets.byteLength));
process.stdout.write(Buffer.from(data.bytes.buffer, data.bytes.byteOffset, data.bytes.byteLength));
`;

/** Unpacks the child's output (see the wire format above). */
export function decodeRankData(out: Buffer): RankData {
  if (out.length < 4) throw new Error("no vocabulary data");
  const count = out.readUInt32LE(0);
  const offsetsEnd = 4 + count * 4;
  if (count < 1 || out.length < offsetsEnd) throw new Error("truncated vocabulary data");
  // Copies (slice), so the arrays are aligned and own their memory.
  const offsets = new Uint32Array(out.buffer.slice(out.byteOffset + 4, out.byteOffset + offsetsEnd));
  const bytes = new Uint8Array(out.subarray(offsetsEnd));
  if (offsets[count - 1] !== bytes.length) throw new Error("vocabulary data does not add up");
  return { bytes, offsets };
}

export function loadRankDataInChild(name: EncodingName): Promise<RankData> {
  return new Promise<RankData>((resolve, reject) => {
    let path: string;
    try {
      path = rankListPath(name);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const child = spawn(process.execPath, ["-e", CHILD_SOURCE, path], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) {
        reject(new Error(`loading the ${name} vocabulary failed (exit ${code}): ${err.trim().split("\n").at(-1) ?? ""}`));
        return;
      }
      try {
        resolve(decodeRankData(Buffer.concat(out)));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}
