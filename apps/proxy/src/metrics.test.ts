import { describe, expect, it } from "vitest";
import { ProxyMetrics } from "./metrics";

const series = (text: string, name: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`))
    .sort();

describe("ProxyMetrics counters", () => {
  it("counts requests per endpoint, served model and status, each combination on its own line", () => {
    const m = new ProxyMetrics();
    for (let i = 0; i < 3; i++) m.countRequest(200, "gpt-4o-mini", "chat.completions");
    m.countRequest(429, "gpt-4o-mini", "chat.completions");
    m.countRequest(200, "claude", "chat.completions");
    m.countRequest(200, "gpt-4o-mini", "embeddings");
    // A label value that needs escaping stays one series.
    m.countRequest(502, 'we"ird\\model', "chat.completions");
    m.countRequest(502, 'we"ird\\model', "chat.completions");
    expect(series(m.render(), "switchyard_proxy_requests_total")).toEqual(
      [
        'switchyard_proxy_requests_total{endpoint="chat.completions",model="gpt-4o-mini",status="200"} 3',
        'switchyard_proxy_requests_total{endpoint="chat.completions",model="gpt-4o-mini",status="429"} 1',
        'switchyard_proxy_requests_total{endpoint="chat.completions",model="claude",status="200"} 1',
        'switchyard_proxy_requests_total{endpoint="embeddings",model="gpt-4o-mini",status="200"} 1',
        'switchyard_proxy_requests_total{endpoint="chat.completions",model="we\\"ird\\\\model",status="502"} 2',
      ].sort(),
    );
  });

  it("counts upstream attempts per target model and result", () => {
    const m = new ProxyMetrics();
    m.countAttempt("a", "ok");
    m.countAttempt("a", "ok");
    m.countAttempt("a", "upstream_timeout");
    m.countAttempt("b", "ok");
    expect(series(m.render(), "switchyard_proxy_upstream_attempts_total")).toEqual(
      [
        'switchyard_proxy_upstream_attempts_total{model="a",result="ok"} 2',
        'switchyard_proxy_upstream_attempts_total{model="a",result="upstream_timeout"} 1',
        'switchyard_proxy_upstream_attempts_total{model="b",result="ok"} 1',
      ].sort(),
    );
  });
});
