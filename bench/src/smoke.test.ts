import { describe, expect, it } from "vitest";
import { runBench, scenarios } from "./run";

// CI runs the suite small so it never rots: every row of every scenario must serve all its
// requests without an error. The numbers themselves are not asserted (shared CI machines).
describe("bench smoke", () => {
  it("runs direct, floor and switchyard through every scenario with zero errors", async () => {
    const report = await runBench({
      rounds: 1,
      count: 100,
      warmupCount: 10,
      primeCount: 30,
      databaseName: "switchyard_bench_smoke",
      redisUrl: process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1",
      // turbo builds apps/proxy before this test (turbo.json); rebuilding here would clean
      // dist/ under the end-to-end test that runs alongside.
      entry: "dist",
      build: false,
      log: () => undefined,
    });

    expect(report.scenarios.map((s) => s.scenario.name)).toEqual(scenarios.map((s) => s.name));
    for (const s of report.scenarios) {
      expect(Object.keys(s.rows).sort(), s.scenario.name).toEqual(["direct", "floor", "switchyard"]);
      for (const [row, r] of Object.entries(s.rows)) {
        const where = `${s.scenario.name} ${row}: ${r.errorSamples.join("; ")}`;
        expect(r.requests, where).toBe(100);
        expect(r.errors, where).toBe(0);
        expect(r.rps, where).toBeGreaterThan(0);
        if (s.scenario.stream) expect(r.ttfbP50, where).toBeGreaterThan(0);
      }
    }
    // Both proxies were primed alike (json c=64, then sse c=16) before the first measured row.
    expect(report.prime).toEqual([
      { row: "floor", requests: 60, errors: 0 },
      { row: "switchyard", requests: 60, errors: 0 },
    ]);
    expect(report.ratios.totalErrors).toBe(0);
    expect(report.ratios.throughputJson64).not.toBeNull();
  });
});
