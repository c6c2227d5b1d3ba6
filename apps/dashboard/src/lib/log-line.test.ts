import { describe, expect, it } from "vitest";
import {
  decimalUsdToNano,
  formatRequestLine,
  formatUsdShort,
  type RequestLineRow,
} from "./log-line";

const base: RequestLineRow = {
  endpoint: "chat.completions",
  requestedModel: "claude-sonnet-4",
  servedModel: "claude-sonnet-4",
  provider: "anthropic",
  status: 200,
  errorClass: null,
  inputTokens: 2847,
  outputTokens: 612,
  estimated: false,
  // 2,847 × $3/MTok + 612 × $15/MTok = $0.017721
  costUsd: "0.017721000",
  cacheStatus: "miss",
  ttftMs: 412,
  latencyMs: 1247,
  stream: true,
};

describe("formatRequestLine", () => {
  it("reads like the proxy's log line (the log keeps no chunk count)", () => {
    expect(formatRequestLine(base)).toBe(
      "POST /v1/chat/completions → claude-sonnet-4 via anthropic | 2,847 in + 612 out tokens | $0.0177 | cache miss | TTFT 412 ms | 1,247 ms | stream",
    );
  });

  it("says unpriced, never $0, and flags estimated usage, routing and errors", () => {
    const line = formatRequestLine({
      ...base,
      requestedModel: "default-chat",
      costUsd: null,
      estimated: true,
      status: 502,
      errorClass: "upstream_error",
      ttftMs: null,
      stream: false,
    });
    expect(line).toBe(
      "POST /v1/chat/completions → claude-sonnet-4 via anthropic (asked default-chat) | 502 upstream_error | 2,847 in + 612 out tokens (estimated) | unpriced | cache miss | 1,247 ms",
    );
    expect(line).not.toContain("$0");
  });

  it("leaves out tokens, cost and cache when no model was resolved", () => {
    expect(
      formatRequestLine({
        ...base,
        servedModel: null,
        provider: null,
        status: 404,
        errorClass: "model_not_found",
        ttftMs: null,
        stream: false,
        latencyMs: 3,
      }),
    ).toBe("POST /v1/chat/completions | 404 model_not_found | 3 ms");
  });
});

describe("formatUsdShort and decimalUsdToNano", () => {
  it("rounds to four decimals and keeps tiny amounts visible", () => {
    expect(formatUsdShort(decimalUsdToNano("0.017721000"))).toBe("$0.0177");
    expect(formatUsdShort(decimalUsdToNano("1234.56789"))).toBe("$1,234.5679");
    expect(formatUsdShort(decimalUsdToNano("0.00002202"))).toBe("$0.000022");
    expect(formatUsdShort(0n)).toBe("$0.0000");
    expect(decimalUsdToNano("-0.5")).toBe(-500_000_000n);
    expect(() => decimalUsdToNano("1e-3")).toThrow();
  });
});
