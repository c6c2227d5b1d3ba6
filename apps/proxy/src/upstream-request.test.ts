import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestUpstream, UpstreamAbort } from "./upstream-request";

/** A server that never answers: every request waits until its client gives up. */
const waiting: IncomingMessage[] = [];
const silent = createServer((req) => void waiting.push(req));
let url = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

/** How a request to the silent server ends when `abort` runs once the server has it. */
async function abortedWith(signal: AbortSignal | UpstreamAbort, abort: () => void): Promise<unknown> {
  const seen = waiting.length;
  const pending = request(url, { method: "POST", body: "{}", signal }).then(
    () => "answered",
    (err: unknown) => err,
  );
  while (waiting.length === seen) await new Promise((r) => setTimeout(r, 5));
  const req = waiting[waiting.length - 1]!;
  const closed = new Promise((r) => req.once("close", r));
  abort();
  const outcome = await pending;
  await closed; // the upstream saw its connection go
  return outcome;
}

describe("UpstreamAbort", () => {
  it("aborts an undici request in flight with the same error as an AbortController", async () => {
    const controller = new AbortController();
    const viaController = await abortedWith(controller.signal, () => controller.abort());
    const ours = new UpstreamAbort();
    const viaOurs = await abortedWith(ours, () => ours.abort());
    expect(viaController).toBeInstanceOf(DOMException);
    expect(viaOurs).toBeInstanceOf(DOMException);
    expect({ name: (viaOurs as Error).name, message: (viaOurs as Error).message }).toEqual({ name: (viaController as Error).name, message: (viaController as Error).message });
    expect((viaOurs as Error).name).toBe("AbortError");
  });

  it("is aborted once: a second abort neither changes the reason nor tells the listeners again", () => {
    const ours = new UpstreamAbort();
    let told = 0;
    ours.on("abort", () => told++);
    ours.abort();
    const reason = ours.reason;
    ours.abort();
    expect(ours.aborted).toBe(true);
    expect(ours.reason).toBe(reason);
    expect(told).toBe(1);
  });
});

describe("requestUpstream", () => {
  it("sends the method, the path with its query, the headers and the body to the URL's origin", async () => {
    const echo = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization, body }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    const agent = new Agent();
    try {
      const base = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
      for (const path of ["/v1/chat/completions", "/openai/deployments/d/chat/completions?api-version=2024-10-21"]) {
        const r = await requestUpstream(agent, { url: `${base}${path}`, method: "POST", headers: { authorization: "Bearer k" }, body: '{"a":1}' }, new UpstreamAbort(), 1000, 1000);
        expect(r.statusCode).toBe(201);
        expect(await r.body.json()).toEqual({ method: "POST", url: path, auth: "Bearer k", body: '{"a":1}' });
      }
    } finally {
      await agent.close();
      echo.closeAllConnections();
      await new Promise((resolve) => echo.close(resolve));
    }
  });
});
