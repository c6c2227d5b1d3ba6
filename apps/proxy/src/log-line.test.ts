import { describe, expect, it } from "vitest";
import { formatLogLine, formatUsdShort, type LogLineFacts } from "./log-line";

const base: LogLineFacts = {
  method: "POST",
  path: "/v1/chat/completions",
  status: 200,
  errorClass: null,
  requestedModel: "claude-sonnet-4",
  servedModel: "claude-sonnet-4",
  provider: "anthropic",
  usage: { inputTokens: 2847, outputTokens: 612, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
  usageSource: "provider",
  // 2,847 × $3 + 612 × $15 per MTok = $0.008541 + $0.00918 = $0.017721
  costNanoUsd: 2847n * 3000n + 612n * 15000n,
  cacheStatus: "miss",
  ttftMs: 412,
  latencyMs: 1247,
  stream: true,
  chunks: 73,
};

describe("formatLogLine", () => {
  it("renders the issue's example exactly", () => {
    expect(formatLogLine(base)).toBe(
      "POST /v1/chat/completions → claude-sonnet-4 via anthropic | 2,847 in + 612 out tokens | $0.0177 | cache miss | TTFT 412 ms | 1,247 ms | stream 73 chunks",
    );
  });

  it("leaves out stream and TTFT for a plain request, and says unpriced instead of a cost", () => {
    expect(formatLogLine({ ...base, stream: false, chunks: 0, ttftMs: null, costNanoUsd: null, latencyMs: 88 })).toBe(
      "POST /v1/chat/completions → claude-sonnet-4 via anthropic | 2,847 in + 612 out tokens | unpriced | cache miss | 88 ms",
    );
  });

  it("marks estimated usage and names the requested model when routing changed it", () => {
    const line = formatLogLine({ ...base, requestedModel: "default-chat", servedModel: "gpt-4o-mini", provider: "openai", usageSource: "estimated", usage: { ...base.usage!, inputTokens: 1234567 } });
    expect(line).toContain("POST /v1/chat/completions → gpt-4o-mini via openai (asked default-chat) | 1,234,567 in + 612 out tokens (estimated) |");
  });

  it("shows the status and error class of a failure", () => {
    expect(formatLogLine({ ...base, status: 502, errorClass: "upstream_stream_interrupted", chunks: 1, usageSource: "estimated" })).toBe(
      "POST /v1/chat/completions → claude-sonnet-4 via anthropic | 502 upstream_stream_interrupted | 2,847 in + 612 out tokens (estimated) | $0.0177 | cache miss | TTFT 412 ms | 1,247 ms | stream 1 chunk",
    );
    // Refused before any model was resolved: no tokens, cost or cache.
    expect(
      formatLogLine({ ...base, status: 401, errorClass: "invalid_api_key", requestedModel: "", servedModel: null, provider: null, usage: null, usageSource: "none", costNanoUsd: 0n, ttftMs: null, stream: false, latencyMs: 2 }),
    ).toBe("POST /v1/chat/completions | 401 invalid_api_key | 2 ms");
  });
});

describe("formatUsdShort", () => {
  it("rounds half-up to 4 decimals with thousands separators", () => {
    expect(formatUsdShort(17_721_000n)).toBe("$0.0177");
    expect(formatUsdShort(17_750_000n)).toBe("$0.0178");
    expect(formatUsdShort(17_749_999n)).toBe("$0.0177");
    expect(formatUsdShort(1_234_567_890_000n)).toBe("$1,234.5679");
    expect(formatUsdShort(2_000_000_000n)).toBe("$2.0000");
    expect(formatUsdShort(0n)).toBe("$0.0000");
  });

  it("keeps two significant digits when 4 decimals would read as free", () => {
    expect(formatUsdShort(22_020n)).toBe("$0.000022"); // $0.00002202
    expect(formatUsdShort(49_999n)).toBe("$0.00005");
    expect(formatUsdShort(50_000n)).toBe("$0.0001");
    expect(formatUsdShort(1n)).toBe("$0.000000001");
  });
});
