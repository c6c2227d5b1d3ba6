import { performance } from "node:perf_hooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startMockUpstream, type MockUpstream } from "./index";
import { personalities } from "./providers";

let openai: MockUpstream;
let anthropic: MockUpstream;
let gemini: MockUpstream;
beforeAll(async () => {
  openai = await startMockUpstream();
  anthropic = await startMockUpstream({ provider: "anthropic" });
  gemini = await startMockUpstream({ provider: "gemini" });
});
afterEach(() => {
  for (const m of [openai, anthropic, gemini]) m.clearFaults();
});
afterAll(async () => {
  for (const m of [openai, anthropic, gemini]) await m.close();
});

const messages = [{ role: "user", content: "hi" }];

function post(url: string, body: unknown, headers: Record<string, string>) {
  return request(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

async function chat(body: unknown, headers: Record<string, string> = {}) {
  const res = await post(`${openai.url}/chat/completions`, body, { authorization: "Bearer sk-test", ...headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

async function message(fault: string) {
  const res = await post(`${anthropic.url}/messages`, { model: "claude-haiku-4-5", max_tokens: 8, messages }, { "x-api-key": "k", "anthropic-version": "2023-06-01", "x-mock-fault": fault });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as { type: string; error: { type: string; message: string } } };
}

/** Reads a response body chunk by chunk until it ends or the connection breaks. */
async function readUntilBroken(body: AsyncIterable<Buffer>): Promise<{ text: string; broken: boolean }> {
  let text = "";
  try {
    for await (const chunk of body) text += chunk.toString("utf8");
    return { text, broken: false };
  } catch {
    return { text, broken: true };
  }
}

describe("mock upstream faults: queue, per-model and standing", () => {
  it("serves queued faults one per request (null answers normally), then falls back to normal answers", async () => {
    const before = openai.faultsServed;
    openai.queueFaults(["status:500", null, "status:429:retry-after=2"]);
    expect(openai.faultsQueued).toBe(3);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await chat({ model: "gpt-4o", messages })).status);
    expect(statuses).toEqual([500, 200, 429, 200]);
    expect(openai.faultsServed - before).toBe(2);
    expect(openai.faultsQueued).toBe(0);
    expect(openai.requests.slice(-4).map((r) => r.fault)).toEqual(["status:500", null, "status:429:retry-after=2", null]);
  });

  it("the x-mock-fault header wins over the queue and does not consume it", async () => {
    openai.queueFaults(["status:503"]);
    expect((await chat({ model: "gpt-4o", messages }, { "x-mock-fault": "status:500" })).status).toBe(500);
    expect(openai.faultsQueued).toBe(1);
    expect((await chat({ model: "gpt-4o", messages })).status).toBe(503);
  });

  it("a per-model fault hits only that model, after the queue and before the standing fault", async () => {
    openai.setFault("status:503");
    openai.setFaultFor("gpt-4o", "status:500");
    openai.queueFaults([null]);
    expect((await chat({ model: "gpt-4o", messages })).status).toBe(200);
    expect((await chat({ model: "gpt-4o", messages })).status).toBe(500);
    expect((await chat({ model: "gpt-4o-mini", messages })).status).toBe(503);
    openai.setFaultFor("gpt-4o", null);
    expect((await chat({ model: "gpt-4o", messages })).status).toBe(503);
    openai.setFault(null);
    expect((await chat({ model: "gpt-4o", messages })).status).toBe(200);
  });

  it("a per-model fault matches Gemini's model in the path", async () => {
    gemini.setFaultFor("gemini-2.0-flash", "status:503");
    const call = async (model: string) => {
      const res = await post(`${gemini.url}/models/${model}:generateContent`, { contents: [{ role: "user", parts: [{ text: "hi" }] }] }, { "x-goog-api-key": "k" });
      await res.body.text();
      return res.statusCode;
    };
    expect(await call("gemini-2.0-flash")).toBe(503);
    expect(await call("gemini-3-pro-preview")).toBe(200);
  });

  it("clearFaults drops the queue, the per-model faults and the standing fault", async () => {
    openai.setFault("status:500");
    openai.setFaultFor("gpt-4o", "status:503");
    openai.queueFaults(["status:429"]);
    openai.clearFaults();
    expect(openai.faultsQueued).toBe(0);
    expect((await chat({ model: "gpt-4o", messages })).status).toBe(200);
  });
});

describe("mock upstream faults: status with retry-after and real error shapes", () => {
  it("sets retry-after (seconds) or retry-after-ms from the fault's options, none by default", async () => {
    const plain = await chat({ model: "gpt-4o", messages }, { "x-mock-fault": "status:429" });
    expect(plain.status).toBe(429);
    expect(plain.headers["retry-after"]).toBeUndefined();
    expect(JSON.parse(plain.text)).toMatchObject({ error: { type: "requests", code: "rate_limit_exceeded" } });

    const seconds = await chat({ model: "gpt-4o", messages }, { "x-mock-fault": "status:429:retry-after=2" });
    expect(seconds.headers["retry-after"]).toBe("2");
    const ms = await chat({ model: "gpt-4o", messages }, { "x-mock-fault": "status:503:retry-after-ms=250" });
    expect(ms.status).toBe(503);
    expect(ms.headers["retry-after-ms"]).toBe("250");
    expect(ms.headers["retry-after"]).toBeUndefined();
  });

  it("Anthropic: 529 is overloaded_error, 429 is rate_limit_error with retry-after unless told otherwise", async () => {
    const overloaded = await message("status:529");
    expect(overloaded.status).toBe(529);
    expect(overloaded.body).toEqual({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } });

    const limited = await message("status:429");
    expect(limited.body).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(limited.headers["retry-after"]).toBe("1");
    expect((await message("status:429:retry-after=5")).headers["retry-after"]).toBe("5");
    expect((await message("status:429:retry-after=none")).headers["retry-after"]).toBeUndefined();
    expect((await message("status:500")).body.error.type).toBe("api_error");
  });

  it("every personality answers 429/500/503/529 in its provider's error envelope", () => {
    const envelope: Record<keyof typeof personalities, (body: Record<string, unknown>) => unknown> = {
      openai: (b) => (b.error as { type?: unknown }).type,
      anthropic: (b) => b.type === "error" && (b.error as { type?: unknown }).type,
      gemini: (b) => (b.error as { status?: unknown }).status,
      mistral: (b) => b.object === "error" && b.type,
      cohere: (b) => typeof b.id === "string" && b.message,
      azure: (b) => (b.error as { code?: unknown }).code,
    };
    for (const [name, p] of Object.entries(personalities) as [keyof typeof personalities, (typeof personalities)[keyof typeof personalities]][]) {
      for (const status of [429, 500, 503, 529]) {
        const body = JSON.parse(p.errorBody(status)) as Record<string, unknown>;
        expect(envelope[name](body), `${name} ${status}`).toEqual(expect.any(String));
      }
    }
    expect(JSON.parse(personalities.gemini.errorBody(429))).toMatchObject({ error: { code: 429, status: "RESOURCE_EXHAUSTED" } });
    expect(JSON.parse(personalities.gemini.errorBody(503))).toMatchObject({ error: { code: 503, status: "UNAVAILABLE" } });
    expect(JSON.parse(personalities.mistral.errorBody(429))).toMatchObject({ type: "rate_limited", code: "1300" });
  });
});

describe("mock upstream faults: resets and slow first tokens", () => {
  it("reset drops the connection before any byte, for streams and JSON alike", async () => {
    await expect(chat({ model: "gpt-4o", messages }, { "x-mock-fault": "reset" })).rejects.toThrow();
    await expect(chat({ model: "gpt-4o", messages, stream: true }, { "x-mock-fault": "reset" })).rejects.toThrow();
    expect(openai.requests.at(-1)).toMatchObject({ fault: "reset", aborted: true, completed: false });
  });

  it("reset-mid-stream sends the status, half the events and no end marker, then breaks the connection", async () => {
    const res = await post(`${openai.url}/chat/completions`, { model: "gpt-4o", messages, stream: true }, { authorization: "Bearer k", "x-mock-fault": "reset-mid-stream" });
    expect(res.statusCode).toBe(200);
    const { text, broken } = await readUntilBroken(res.body);
    expect(broken).toBe(true);
    expect(text).toContain("data: {");
    expect(text).not.toContain("[DONE]");
  });

  it("reset-mid-stream on a JSON reply sends half the body, then breaks the connection", async () => {
    const res = await post(`${openai.url}/chat/completions`, { model: "gpt-4o", messages }, { authorization: "Bearer k", "x-mock-fault": "reset-mid-stream" });
    expect(res.statusCode).toBe(200);
    const { text, broken } = await readUntilBroken(res.body);
    expect(broken).toBe(true);
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(Number(res.headers["content-length"]));
  });

  it("slow-first-token sends the headers at once and the first event only after the delay", async () => {
    const delay = 600;
    for (const stream of [true, false]) {
      const start = performance.now();
      const res = await post(`${openai.url}/chat/completions`, { model: "gpt-4o", messages, stream }, { authorization: "Bearer k", "x-mock-fault": `slow-first-token:${delay}` });
      // Headers are here while the mock is still holding the body back.
      expect(res.statusCode).toBe(200);
      expect(openai.requests.at(-1)?.completed).toBe(false);
      let firstChunkAt = 0;
      let text = "";
      for await (const chunk of res.body) {
        if (firstChunkAt === 0) firstChunkAt = performance.now();
        text += (chunk as Buffer).toString("utf8");
      }
      // Timers may fire a hair early against performance.now(); 5 ms of slack.
      expect(firstChunkAt - start).toBeGreaterThanOrEqual(delay - 5);
      expect(stream ? text.endsWith("data: [DONE]\n\n") : JSON.parse(text)).toBeTruthy();
    }
  });
});
