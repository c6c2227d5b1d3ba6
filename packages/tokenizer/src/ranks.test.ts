import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { loadRankData, packRanks } from "./ranks";

// A file of its own: nothing here imports gpt-tokenizer, whose strings would otherwise be
// on the heap already (string literals are shared across modules) and hide what a load keeps.

describe("packRanks", () => {
  it("lays tokens end to end, keeps holes empty and takes byte arrays as they are", () => {
    // eslint-disable-next-line no-sparse-arrays -- a hole is an unused rank
    const data = packRanks(["a", "bc", , [0xff, 0xfe], "é"]);
    expect([...data.offsets]).toEqual([0, 1, 3, 3, 5, 7]);
    expect([...data.bytes]).toEqual([0x61, 0x62, 0x63, 0xff, 0xfe, 0xc3, 0xa9]);
  });
});

describe("loading a vocabulary in this thread", () => {
  it("keeps ~7 MB of gpt-tokenizer's list on the heap (why the proxy loads it in a child process)", () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const heapUsed = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = heapUsed();
    const data = loadRankData("o200k_base");
    const grewMb = (heapUsed() - before) / 1e6;
    expect(data.offsets.length).toBeGreaterThan(199_000);
    // The fact apps/proxy/src/rank-loader.ts exists for; if this drops near 0, the child process can go.
    expect(grewMb).toBeGreaterThan(3);
    expect(grewMb).toBeLessThan(12);
  });
});
