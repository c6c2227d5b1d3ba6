import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { countTextTokens, loadRankData, setRankLoader } from "@switchyard/tokenizer";
import { decodeRankData, loadRankDataInChild } from "./rank-loader";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe("loading vocabularies in a child process", () => {
  it("packs the same vocabulary as an in-thread load, and leaves the list off this heap", async () => {
    const before = heapUsed();
    const viaChild = await loadRankDataInChild("o200k_base");
    const grewMb = (heapUsed() - before) / 1e6;
    // An in-thread load keeps ~7 MB (packages/tokenizer/src/ranks.test.ts); the child took it all with it.
    expect(grewMb).toBeLessThan(2);
    const inThread = loadRankData("o200k_base");
    expect(viaChild.offsets.length).toBe(inThread.offsets.length);
    expect(Buffer.from(viaChild.offsets.buffer).equals(Buffer.from(inThread.offsets.buffer))).toBe(true);
    expect(Buffer.from(viaChild.bytes).equals(Buffer.from(inThread.bytes))).toBe(true);
  });

  it("is what counts use once set (gpt-4o-mini: o200k_base; gpt-4: cl100k_base)", async () => {
    const loaded: string[] = [];
    setRankLoader((name) => {
      loaded.push(name);
      return loadRankDataInChild(name);
    });
    expect((await countTextTokens("The quick brown fox jumps over the lazy dog.", "gpt-4o-mini")).tokens).toBe(10);
    expect((await countTextTokens("The quick brown fox jumps over the lazy dog.", "gpt-4")).tokens).toBe(10);
    expect(loaded).toEqual(["o200k_base", "cl100k_base"]);
  });

  it("refuses output that is cut short or does not add up", () => {
    const good = Buffer.alloc(4 + 3 * 4 + 2);
    good.writeUInt32LE(3, 0);
    [0, 1, 2].forEach((v, i) => good.writeUInt32LE(v, 4 + i * 4));
    good.set([0x61, 0x62], 16);
    expect([...decodeRankData(good).offsets]).toEqual([0, 1, 2]);
    expect(() => decodeRankData(good.subarray(0, 10))).toThrow(/truncated/);
    expect(() => decodeRankData(good.subarray(0, 17))).toThrow(/does not add up/);
    expect(() => decodeRankData(Buffer.alloc(0))).toThrow(/no vocabulary/);
  });

  it("rejects a vocabulary that does not exist", async () => {
    await expect(loadRankDataInChild("no_such_base" as "o200k_base")).rejects.toThrow();
  });
});
