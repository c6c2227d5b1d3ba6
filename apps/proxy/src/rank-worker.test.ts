import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { countTextTokens, loadRankData, setRankLoader } from "@switchyard/tokenizer";
import { loadRankDataInWorker } from "./rank-worker";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe("loading vocabularies in a worker", () => {
  it("packs the same vocabulary as an in-thread load, and leaves the list off this heap", async () => {
    const before = heapUsed();
    const viaWorker = await loadRankDataInWorker("o200k_base");
    const grewMb = (heapUsed() - before) / 1e6;
    // An in-thread load keeps ~7 MB (packages/tokenizer/src/ranks.test.ts); the worker's heap is gone.
    expect(grewMb).toBeLessThan(2);
    const inThread = loadRankData("o200k_base");
    expect(viaWorker.offsets.length).toBe(inThread.offsets.length);
    expect(Buffer.from(viaWorker.offsets.buffer).equals(Buffer.from(inThread.offsets.buffer))).toBe(true);
    expect(Buffer.from(viaWorker.bytes).equals(Buffer.from(inThread.bytes))).toBe(true);
  });

  it("is what counts use once set (gpt-4o-mini: o200k_base; gpt-4: cl100k_base)", async () => {
    const loaded: string[] = [];
    setRankLoader((name) => {
      loaded.push(name);
      return loadRankDataInWorker(name);
    });
    expect((await countTextTokens("The quick brown fox jumps over the lazy dog.", "gpt-4o-mini")).tokens).toBe(10);
    expect((await countTextTokens("The quick brown fox jumps over the lazy dog.", "gpt-4")).tokens).toBe(10);
    expect(loaded).toEqual(["o200k_base", "cl100k_base"]);
  });

  it("rejects a vocabulary that does not exist", async () => {
    await expect(loadRankDataInWorker("no_such_base" as "o200k_base")).rejects.toThrow();
  });
});
