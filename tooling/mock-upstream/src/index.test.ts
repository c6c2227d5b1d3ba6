import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { expectedStreamBody, loadFixtures, startMockUpstream, type MockUpstream } from "./index";

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => mock.close());

const auth = { authorization: "Bearer sk-test", "content-type": "application/json" };
const messages = [{ role: "user", content: "hi" }];

async function chat(body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${mock.url}/chat/completions`, {
    method: "POST",
    headers: { ...auth, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe("mock upstream", () => {
  it("replays the recorded completion byte for byte and records the request", async () => {
    const r = await chat({ model: "gpt-4.1-nano", messages });
    expect(r.status).toBe(200);
    expect(r.text).toBe(loadFixtures().chatText);
    const last = mock.requests.at(-1);
    expect(last?.path).toBe("/v1/chat/completions");
    expect(last?.body).toMatchObject({ model: "gpt-4.1-nano" });
  });

  it("answers a request with tools with the recorded tool call", async () => {
    const r = await chat({ model: "gpt-4o", messages, tools: [{ type: "function", function: { name: "get_user_country" } }] });
    const body = JSON.parse(r.text) as { choices: { message: { tool_calls: { function: { name: string } }[] } }[] };
    expect(body.choices[0]?.message.tool_calls[0]?.function.name).toBe("get_user_country");
  });

  it("streams the recorded SSE with the usage chunk only when include_usage is true", async () => {
    const raw = loadFixtures().chatTextStream;
    const withUsage = await chat({ model: "gpt-4o", messages, stream: true, stream_options: { include_usage: true } });
    expect(withUsage.headers["content-type"]).toContain("text/event-stream");
    expect(withUsage.text).toBe(expectedStreamBody(raw, true));
    expect(withUsage.text).toContain('"choices":[],"usage":{"prompt_tokens":1248');
    expect(withUsage.text.endsWith("data: [DONE]\n\n")).toBe(true);

    const without = await chat({ model: "gpt-4o", messages, stream: true });
    expect(without.text).toBe(expectedStreamBody(raw, false));
    expect(without.text).not.toContain('"prompt_tokens"');
    expect(without.text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("rejects a request without a bearer key with OpenAI's 401", async () => {
    const res = await request(`${mock.url}/chat/completions`, { method: "POST", body: "{}" });
    expect(res.statusCode).toBe(401);
    expect(((await res.body.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
  });

  it("injects faults: status, stream-cut, reset", async () => {
    const s500 = await chat({ model: "gpt-4o", messages }, { "x-mock-fault": "status:500" });
    expect(s500.status).toBe(500);
    expect(JSON.parse(s500.text)).toMatchObject({ error: { type: "server_error" } });
    const s400 = await chat({ model: "gpt-4o", messages }, { "x-mock-fault": "status:400" });
    expect(s400.text).toBe(loadFixtures().chatError400);

    mock.setFault("stream-cut");
    try {
      // Either the body ends early or the socket error surfaces; never a [DONE].
      const text = await chat({ model: "gpt-4o", messages, stream: true }).then(
        (r) => r.text,
        () => "",
      );
      expect(text).not.toContain("[DONE]");
    } finally {
      mock.setFault(null);
    }
    await expect(chat({ model: "gpt-4o", messages }, { "x-mock-fault": "reset" })).rejects.toThrow();
  });

  it("lists models", async () => {
    const res = await request(`${mock.url}/models`, { headers: auth });
    const body = (await res.body.json()) as { object: string; data: { id: string }[] };
    expect(body.object).toBe("list");
    expect(body.data.map((m) => m.id)).toContain("gpt-4o-mini");
  });
});
