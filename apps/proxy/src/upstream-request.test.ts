import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, Pool, request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { requestUpstream, UpstreamAbort, type UpstreamReply } from "./upstream-request";

/** A server that never answers: every request waits until its client gives up. */
const waiting: IncomingMessage[] = [];
const silent = createServer((req) => void waiting.push(req));
let silentUrl = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

/** Servers and agents a test opened, closed after it. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function agent(): Agent {
  const a = new Agent();
  cleanups.push(() => a.destroy());
  return a;
}

const post = (url: string, body = "{}") => ({ url, method: "POST" as const, headers: { "content-type": "application/json" }, body });

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

/** Reads a whole body chunk by chunk through next(). */
async function readAll(reply: UpstreamReply): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (let r = await reply.body.next(); !r.done; r = await reply.body.next()) chunks.push(r.value);
  return chunks;
}

describe("UpstreamAbort", () => {
  it("aborts a request waiting for its headers with the error undici gives for an AbortController, and closes the connection", async () => {
    // undici's own: request() with an AbortController's signal.
    let seen = waiting.length;
    const controller = new AbortController();
    const viaController = request(silentUrl, { method: "POST", body: "{}", signal: controller.signal }).then(() => "answered", (err: unknown) => err);
    await until(() => waiting.length > seen);
    controller.abort();
    const theirs = await viaController;

    seen = waiting.length;
    const ours = new UpstreamAbort();
    const pending = requestUpstream(agent(), post(silentUrl), ours, 10_000, 10_000).then(() => "answered", (err: unknown) => err);
    await until(() => waiting.length > seen);
    const upstreamSide = waiting[waiting.length - 1]!;
    const closed = new Promise((r) => upstreamSide.socket.once("close", r));
    ours.abort();
    const outcome = await pending;
    await closed; // the provider saw its connection go

    expect(theirs).toBeInstanceOf(DOMException);
    expect(outcome).toBeInstanceOf(DOMException);
    expect({ name: (outcome as Error).name, message: (outcome as Error).message }).toEqual({ name: (theirs as Error).name, message: (theirs as Error).message });
    expect((outcome as Error).name).toBe("AbortError");
  });

  it("is aborted once: a second abort keeps the first reason", () => {
    const ours = new UpstreamAbort();
    ours.abort();
    const reason = ours.reason;
    ours.abort();
    expect(ours.aborted).toBe(true);
    expect(reason).toBeInstanceOf(DOMException);
    expect(ours.reason).toBe(reason);
  });

  it("rejects at once, sending nothing, when it was aborted before the request", async () => {
    const seen = waiting.length;
    const ours = new UpstreamAbort();
    ours.abort();
    await expect(requestUpstream(agent(), post(silentUrl), ours, 10_000, 10_000)).rejects.toBe(ours.reason);
    await new Promise((r) => setTimeout(r, 50));
    expect(waiting.length).toBe(seen);
  });

  it("aborts a request still queued behind a busy connection, and the connection's own request goes on", async () => {
    const pool = new Pool(silentUrl, { connections: 1, pipelining: 1 });
    cleanups.push(() => pool.destroy());
    const seen = waiting.length;
    const busyAbort = new UpstreamAbort();
    const busy = requestUpstream(pool, post(silentUrl), busyAbort, 10_000, 10_000).then(() => "answered", (err: unknown) => err);
    await until(() => waiting.length > seen);
    const queuedAbort = new UpstreamAbort();
    const queued = requestUpstream(pool, post(silentUrl), queuedAbort, 10_000, 10_000).then(() => "answered", (err: unknown) => err);
    queuedAbort.abort();
    expect(await queued).toBe(queuedAbort.reason);
    // The queued request never reached the provider, and the first is still waiting for it.
    await new Promise((r) => setTimeout(r, 50));
    expect(waiting.length).toBe(seen + 1);
    busyAbort.abort();
    expect(await busy).toBe(busyAbort.reason);
  });

  it("aborts a body being read: the pending read fails with the abort, and the provider's connection closes", async () => {
    let upstreamRes: ServerResponse | null = null;
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: 1\n\n");
      upstreamRes = res;
    });
    const ours = new UpstreamAbort();
    const reply = await requestUpstream(agent(), post(`${base}/v1/chat/completions`), ours, 10_000, 10_000);
    expect(reply.statusCode).toBe(200);
    expect((await reply.body.next()).value?.toString()).toBe("data: 1\n\n");
    const pendingRead = reply.body.next().then(() => "read", (err: unknown) => err);
    await until(() => upstreamRes !== null);
    const closed = new Promise((r) => upstreamRes!.once("close", r));
    ours.abort();
    expect(await pendingRead).toBe(ours.reason);
    await closed;
    await expect(reply.body.next()).rejects.toBe(ours.reason);
  });
});

describe("requestUpstream", () => {
  it("sends the method, the path with its query, the headers and the body to the URL's origin", async () => {
    const base = await serve((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization, body }));
      });
    });
    const a = agent();
    for (const path of ["/v1/chat/completions", "/openai/deployments/d/chat/completions?api-version=2024-10-21"]) {
      const r = await requestUpstream(a, { url: `${base}${path}`, method: "POST", headers: { authorization: "Bearer k" }, body: '{"a":1}' }, new UpstreamAbort(), 1000, 1000);
      expect(r.statusCode).toBe(201);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(await r.body.text())).toEqual({ method: "POST", url: path, auth: "Bearer k", body: '{"a":1}' });
    }
  });

  it("hands out a body's chunks in order as they come, then its end; headers keep repeated fields", async () => {
    const parts = ["data: a\n\n", "data: bb\n\n", "data: [DONE]\n\n"];
    let sendNext: (() => void) | null = null;
    const base = await serve((_req, res) => {
      res.writeHead(200, [["content-type", "text/event-stream"], ["x-multi", "1"], ["x-multi", "2"]].flat());
      let i = 0;
      sendNext = () => (i < parts.length ? res.write(parts[i++]) : res.end());
      sendNext();
    });
    const reply = await requestUpstream(agent(), post(base), new UpstreamAbort(), 1000, 1000);
    expect(reply.headers["x-multi"]).toEqual(["1", "2"]);
    const got: string[] = [];
    for (;;) {
      const r = await reply.body.next(); // each read waits for the server's next write
      if (r.done) break;
      got.push(r.value.toString());
      sendNext!();
    }
    expect(got.join("")).toBe(parts.join(""));
    expect(got.length).toBeGreaterThan(1);
    expect(await reply.body.next()).toEqual({ done: true, value: undefined });
  });

  it("reads a large body whole with bytes(), and an error body as text()", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const base = await serve((req, res) => {
      if (req.url === "/error") {
        res.writeHead(429, { "content-type": "application/json", "retry-after": "7" });
        res.end('{"error":{"message":"slow down é"}}');
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(big);
    });
    const a = agent();
    const ok = await requestUpstream(a, post(`${base}/big`), new UpstreamAbort(), 1000, 1000);
    expect((await ok.body.bytes()).equals(big)).toBe(true);
    const err = await requestUpstream(a, post(`${base}/error`), new UpstreamAbort(), 1000, 1000);
    expect(err.statusCode).toBe(429);
    expect(err.headers["retry-after"]).toBe("7");
    expect(await err.body.text()).toBe('{"error":{"message":"slow down é"}}');
  });

  it("skips 1xx informational answers and resolves with the final one", async () => {
    const base = await serve((_req, res) => {
      res.writeEarlyHints({ link: "</style.css>; rel=preload" });
      // The final answer comes later, so that a reply resolved at the 103 would show it.
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"ok":true}');
      }, 50);
    });
    const reply = await requestUpstream(agent(), post(base), new UpstreamAbort(), 1000, 1000);
    expect(reply.statusCode).toBe(200);
    expect(JSON.parse(await reply.body.text())).toEqual({ ok: true });
  });

  it("stops reading the provider's socket while 64 KiB wait unread, and loses nothing once read", async () => {
    const total = 48 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 120);
    let written = 0;
    let finished = false;
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(total) });
      const pump = () => {
        while (written < total) {
          written += piece.length;
          if (!res.write(piece)) return void res.once("drain", pump);
        }
        res.end(() => (finished = true));
      };
      pump();
    });
    const reply = await requestUpstream(agent(), post(base), new UpstreamAbort(), 10_000, 10_000);
    // Nothing read: the server fills the socket buffers and stops; the reply holds ~64 KiB.
    let last = -1;
    while (written !== last) {
      last = written;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(finished).toBe(false);
    expect(written).toBeLessThan(total);
    expect(reply.bufferedBytes).toBeGreaterThan(0);
    expect(reply.bufferedBytes).toBeLessThan(64 * 1024 + 256 * 1024); // the mark, plus one socket read at most
    let received = 0;
    for (const chunk of await readAll(reply)) {
      received += chunk.length;
      expect(chunk.every((b) => b === 120)).toBe(true);
    }
    expect(received).toBe(total);
    await until(() => finished);
  });

  it("hands out what came before a broken connection, then throws undici's error", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: 1\n\n", () => res.socket?.destroy());
    });
    const a = agent();
    let gone = false;
    a.on("disconnect", () => (gone = true));
    const reply = await requestUpstream(a, post(base), new UpstreamAbort(), 1000, 1000);
    // Nothing read until undici has seen the connection go: the chunk waits in the reply, then the error.
    await until(() => gone);
    expect((await reply.body.next()).value?.toString()).toBe("data: 1\n\n");
    const err = await reply.body.next().then(() => null, (e: unknown) => e as { code?: string });
    expect(err?.code).toBe("UND_ERR_SOCKET");
  });

  it("fails a request whose headers do not come in time with undici's headers timeout", async () => {
    const err = await requestUpstream(agent(), post(silentUrl), new UpstreamAbort(), 100, 1000).then(() => null, (e: unknown) => e as { code?: string });
    expect(err?.code).toBe("UND_ERR_HEADERS_TIMEOUT");
  });

  it("destroy() drops unread chunks and fails later reads with its error; after the end it changes nothing", async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("whole");
    });
    const a = agent();
    const done = await requestUpstream(a, post(base), new UpstreamAbort(), 1000, 1000);
    expect((await done.body.text())).toBe("whole");
    done.body.destroy(new Error("late"));
    expect(await done.body.next()).toEqual({ done: true, value: undefined });

    let upstreamRes: ServerResponse | null = null;
    const base2 = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("part");
      upstreamRes = res;
    });
    const open = await requestUpstream(a, post(base2), new UpstreamAbort(), 1000, 1000);
    await until(() => open.bufferedBytes > 0);
    const reason = new Error("first byte timeout");
    open.body.destroy(reason);
    expect(open.bufferedBytes).toBe(0);
    await expect(open.body.next()).rejects.toBe(reason);
    await new Promise((r) => upstreamRes!.once("close", r));
  });
});
