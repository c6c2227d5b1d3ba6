import { describe, expect, it } from "vitest";
import { dueThreshold } from "./check";
import {
  composeAlertEmail,
  forecastExhaustion,
  formatPercent,
  formatUsd,
  type BudgetAlertFacts,
} from "./email";

const USD = 1_000_000_000n;
const window = { start: new Date("2026-11-01T00:00:00Z"), end: new Date("2026-12-01T00:00:00Z") };

describe("forecastExhaustion", () => {
  it("extrapolates the period's average spend rate to the limit", () => {
    // 40 $ in 10 days → 60 $ more take 15 days.
    const r = forecastExhaustion(40n * USD, 100n * USD, window, new Date("2026-11-11T00:00:00Z"));
    expect(r).toEqual({ kind: "at", at: new Date("2026-11-26T00:00:00Z") });
  });

  it("says the budget lasts the period when the pace reaches the limit only after the reset", () => {
    expect(
      forecastExhaustion(20n * USD, 100n * USD, window, new Date("2026-11-11T00:00:00Z")),
    ).toEqual({
      kind: "after-reset",
    });
    expect(forecastExhaustion(0n, 100n * USD, window, new Date("2026-11-11T00:00:00Z"))).toEqual({
      kind: "after-reset",
    });
  });

  it("says exhausted at 100 % and above", () => {
    expect(
      forecastExhaustion(100n * USD, 100n * USD, window, new Date("2026-11-11T00:00:00Z")),
    ).toEqual({
      kind: "exhausted",
    });
  });
});

describe("formatting", () => {
  it("shows dollars with cents, thousands separators and sub-cent amounts", () => {
    expect(formatUsd(1_234_567_890_123n)).toBe("$1,234.57");
    expect(formatUsd(0n)).toBe("$0.00");
    expect(formatUsd(27_000n)).toBe("$0.000027");
    expect(formatPercent(81_549n, 100_000n)).toBe("81.5");
    expect(formatPercent(5n, 0n)).toBe("∞");
  });
});

describe("dueThreshold", () => {
  it("picks the highest crossed threshold above every one already sent", () => {
    expect(dueThreshold([50, 80, 100], 85n, 100n, [])).toBe(80);
    expect(dueThreshold([50, 80, 100], 85n, 100n, [80])).toBeUndefined();
    expect(dueThreshold([50, 80, 100], 85n, 100n, [50])).toBe(80);
    expect(dueThreshold([100, 50], 100n, 100n, [50])).toBe(100);
    expect(dueThreshold([50, 80, 100], 49n, 100n, [])).toBeUndefined();
    expect(dueThreshold([50], 0n, 0n, [])).toBeUndefined();
  });
});

describe("composeAlertEmail", () => {
  const facts: BudgetAlertFacts = {
    scope: "TEAM",
    orgName: "Acme",
    teamName: "<search>",
    keyName: null,
    keyPrefix: null,
    period: "MONTH",
    hard: false,
    threshold: 50,
    spentNanoUsd: 55n * USD,
    limitNanoUsd: 100n * USD,
    window,
    timeZone: "UTC",
    now: new Date("2026-11-28T00:00:00Z"),
    topModels: [{ label: "gpt-4o", requests: 3, costNanoUsd: 55n * USD }],
    topKeys: [],
  };

  it("escapes names in HTML, says soft budgets do not block, and omits the link without a dashboard URL", () => {
    const e = composeAlertEmail(facts);
    expect(e.subject).toBe("[Switchyard] Team '<search>' monthly budget at 50 %");
    expect(e.html).toContain("&lt;search&gt;");
    expect(e.html).not.toContain("<search>");
    expect(e.text).toContain("soft: requests go on past the limit");
    expect(e.text).toContain("does not run out before the period resets at 2026-12-01 00:00 (UTC)");
    expect(e.text).toContain("Top keys by spend: none");
    expect(e.text).not.toContain("/budgets");
  });
});
