import { describe, expect, it } from "vitest";
import { computeFigures, median, type RoundMeasure } from "./figures";

const m = (rps: number, p50 = 1, p99 = 2, ttfbP50 = 0.5): RoundMeasure => ({ rps, p50, p99, ttfbP50 });

describe("bench figures", () => {
  it("pairs each round's rows: the median of the rounds' ratios, not the ratio of the medians", () => {
    // The machine slows down in round 2 and speeds up in round 3: each round's ratio is 0.65,
    // 0.55 and 0.65, while the rows' medians (13,000 and 7,150) give 0.55.
    const perRound = new Map([
      ["sse c=16|floor", [m(10_000), m(13_000), m(15_000)]],
      ["sse c=16|switchyard", [m(6_500), m(7_150), m(9_750)]],
    ]);
    const f = computeFigures(perRound).throughputSse16;
    expect(f.rounds.map((r) => r.toFixed(2))).toEqual(["0.65", "0.55", "0.65"]);
    expect(f.value).toBeCloseTo(0.65, 10);
    expect(f.ofMedians).toBeCloseTo(7_150 / 13_000, 10);
  });

  it("takes latency as differences per round, and leaves out what a run did not measure", () => {
    const perRound = new Map([
      ["json c=1|floor", [m(2000, 0.46, 1.3), m(2000, 0.5, 1.0)]],
      ["json c=1|switchyard", [m(1600, 0.57, 1.7), m(1500, 0.7, 2.0)]],
      // A round cut short: only the pairs that exist count.
      ["sse c=1|floor", [m(1900, 1, 1, 0.48), m(1900, 1, 1, 0.5)]],
      ["sse c=1|switchyard", [m(1300, 1, 1, 0.69)]],
    ]);
    const f = computeFigures(perRound);
    expect(f.addedP50.rounds.map((r) => r.toFixed(2))).toEqual(["0.11", "0.20"]);
    expect(f.addedP50.value).toBeCloseTo(0.155, 10);
    expect(f.addedP99.value).toBeCloseTo((0.4 + 1.0) / 2, 10);
    expect(f.addedTtfbSse1.rounds.map((r) => r.toFixed(2))).toEqual(["0.21"]);
    expect(f.vsPortkeyJson64).toEqual({ value: null, rounds: [], ofMedians: null });
    expect(f.throughputJson64.value).toBeNull();
  });

  it("skips a round whose divisor served nothing rather than dividing by zero", () => {
    const perRound = new Map([
      ["json c=64|portkey", [m(0), m(500), m(600)]],
      ["json c=64|switchyard", [m(4000), m(4000), m(4800)]],
    ]);
    const f = computeFigures(perRound).vsPortkeyJson64;
    expect(f.rounds).toEqual([8, 8]);
    expect(f.value).toBe(8);
  });

  it("median of an even count is the mean of the middle two; of nothing, null", () => {
    expect(median([3, 1, 2, 10])).toBe(2.5);
    expect(median([5])).toBe(5);
    expect(median([])).toBeNull();
  });
});
