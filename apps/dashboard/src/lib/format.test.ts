import { describe, expect, it } from "vitest";
import { formatPercent, formatUsd } from "./format";

describe("formatUsd", () => {
  it("rounds exact decimal strings half-up to cents", () => {
    expect(formatUsd("3.755000000")).toBe("$3.76");
    expect(formatUsd("3.754999999")).toBe("$3.75");
    expect(formatUsd("1234567.000000000")).toBe("$1,234,567.00");
    expect(formatUsd("0.000000000")).toBe("$0.00");
  });

  it("keeps sub-cent amounts visible instead of showing $0.00", () => {
    expect(formatUsd("0.001234000")).toBe("$0.001234");
    expect(formatUsd("0.000000400")).toBe("$0.000000");
    expect(formatUsd("0.000000600")).toBe("$0.000001");
  });
});

describe("formatPercent", () => {
  it("shows one decimal", () => {
    expect(formatPercent(1 / 14)).toBe("7.1%");
    expect(formatPercent(0)).toBe("0.0%");
  });
});
