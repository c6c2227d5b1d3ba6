import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StringDecoder } from "node:string_decoder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { geminiAdapter, openAiAdapter, type ProviderAdapter } from "@switchyard/providers";
import { newRequestContext } from "../context";
import type { ProviderCall } from "../routing/failover";
import { endStream, pumpStream, startStream, writeStreamPiece } from "./chat-core";

/** Serves one stream made by pumpStream from the provider bytes the test hands it. */
let server: Server;
let url: string;
let nextPieces: Buffer[] = [];
let nextAdapter: ProviderAdapter = openAiAdapter;
/** Socket writes (syscalls, one per _write/_writev) of the response being served. */
let socketWrites = 0;
/** How the test server answers: a provider stream through pumpStream unless a test says otherwise. */
let answer: ((res: ServerResponse) => void) | null = null;

function callOf(pieces: Buffer[]): ProviderCall {
  const [first, ...rest] = pieces;
  return {
    adapter: nextAdapter,
    model: { name: "m", provider: { slug: "p" } },
    prepared: { stream: true, clientWantsUsage: true },
    upstream: {
      body: {
        next: () => Promise.resolve(rest.length > 0 ? { done: false, value: rest.shift() } : { done: true, value: undefined }),
      },
    },
    firstChunk: first ?? null,
  } as unknown as ProviderCall;
}

beforeAll(async () => {
  server = createServer((_req, res) => {
    const socket = res.socket as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
    const { _write, _writev } = Object.getPrototypeOf(socket) as typeof socket;
    socket._write = function (...a) {
      socketWrites++;
      return _write.apply(this, a);
    };
    socket._writev = function (...a) {
      socketWrites++;
      return _writev.apply(this, a);
    };
    if (answer) answer(res);
    else void pumpStream(res, newRequestContext("POST", "/v1/chat/completions"), callOf(nextPieces));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function streamOf(pieces: Buffer[]): Promise<Buffer> {
  nextPieces = pieces;
  const res = await request(url, { method: "POST" });
  return Buffer.from(await res.body.arrayBuffer());
}

const event = (content: string) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })}\n\n`;

describe("pumpStream decoding", () => {
  it("forwards characters split between the provider's chunks intact, at every split point", async () => {
    const text = event("Galaxy Day — “stars” 😀 é") + event("!") + "data: [DONE]\n\n";
    const bytes = Buffer.from(text);
    const firstNonAscii = bytes.findIndex((b) => b > 0x7f);
    for (let cut = firstNonAscii; cut < firstNonAscii + 24; cut++) {
      const out = await streamOf([bytes.subarray(0, cut), bytes.subarray(cut, cut + 1), bytes.subarray(cut + 1)]);
      expect(out.equals(bytes), `cut at ${cut}`).toBe(true);
    }
  });

  it("forwards bytes that are not UTF-8 after an ASCII start as a decoder fed the same pieces makes them (U+FFFD), at every split point", async () => {
    // 0x80 alone, 0xC3 cut short by an ASCII byte, 0xFF: none is UTF-8. The ASCII pieces before
    // them are taken as latin1; from the first such byte on, the decoder must have everything.
    const bytes = Buffer.concat([Buffer.from(event("ascii first")), Buffer.from('data: {"x":"a'), Buffer.from([0x80, 0xc3, 0x41, 0xff]), Buffer.from('b"}\n\n'), Buffer.from(event("tail") + "data: [DONE]\n\n")]);
    const firstNonAscii = bytes.findIndex((b) => b > 0x7f);
    for (let cut = firstNonAscii - 2; cut < firstNonAscii + 6; cut++) {
      const pieces = [bytes.subarray(0, cut), bytes.subarray(cut, cut + 1), bytes.subarray(cut + 1)];
      const decoder = new StringDecoder("utf8");
      const expected = Buffer.from(pieces.map((p) => decoder.write(p)).join("") + decoder.end());
      expect(expected.equals(bytes)).toBe(false);
      const out = await streamOf(pieces);
      expect(out.toString("hex"), `cut at ${cut}`).toBe(expected.toString("hex"));
    }
  });

  it("keeps ASCII pieces after a character split between pieces with the decoder, which holds its first bytes", async () => {
    const bytes = Buffer.from(event("é") + event("plain ascii") + "data: [DONE]\n\n");
    const at = bytes.findIndex((b) => b > 0x7f);
    // The first piece ends inside "é"; everything after the split is ASCII.
    const out = await streamOf([bytes.subarray(0, at + 1), bytes.subarray(at + 1, at + 2), bytes.subarray(at + 2)]);
    expect(out.equals(bytes)).toBe(true);
  });

  it("writes a translated stream as UTF-8 even when the provider's bytes were ASCII", async () => {
    // Gemini escapes "é" as \u00e9 (ASCII on the wire); the OpenAI chunks made from it carry "é" itself.
    nextAdapter = geminiAdapter;
    try {
      const out = await streamOf([Buffer.from('data: {"candidates":[{"content":{"parts":[{"text":"caf\\u00e9"}],"role":"model"}}]}\n\n')]);
      expect(out.toString("utf8")).toContain('"content":"café"');
    } finally {
      nextAdapter = openAiAdapter;
    }
  });

  it("drops a byte order mark at the very start of the stream, even when split, and only there", async () => {
    const text = event("a\uFEFFb") + "data: [DONE]\n\n";
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    expect((await streamOf([withBom])).toString()).toBe(text);
    expect((await streamOf([withBom.subarray(0, 2), withBom.subarray(2)])).toString()).toBe(text);
  });
});

describe("pumpStream writes", () => {
  it("sends a stream that arrives in one turn (status, events, end) in one socket write", async () => {
    const text = event("Hello") + event(" world") + "data: [DONE]\n\n";
    for (const pieces of [[Buffer.from(text)], [Buffer.from(text.slice(0, 40)), Buffer.from(text.slice(40))]]) {
      socketWrites = 0;
      expect((await streamOf(pieces)).toString()).toBe(text);
      expect(socketWrites).toBe(1);
    }
  });

  it("waits for a client that stops reading: no more provider pieces are pulled while its socket is full, and all arrive once it reads", async () => {
    const piece = Buffer.from(event("x".repeat(64 * 1024)));
    const count = 600; // ~39 MB: more than the kernel's and both ends' buffers hold
    const done = Buffer.from("data: [DONE]\n\n");
    let pulled = 0;
    answer = (res) => {
      const call = callOf([piece]);
      (call.upstream.body as { next: () => Promise<unknown> }).next = () => {
        pulled++;
        if (pulled < count) return Promise.resolve({ done: false, value: piece });
        return Promise.resolve(pulled === count ? { done: false, value: done } : { done: true, value: undefined });
      };
      void pumpStream(res, newRequestContext("POST", "/v1/chat/completions"), call);
    };
    try {
      const res = await request(url, { method: "POST" });
      // The client reads nothing for a while: the pump must stop at the first full write.
      await new Promise((r) => setTimeout(r, 500));
      const whilePaused = pulled;
      expect(whilePaused).toBeGreaterThan(0);
      expect(whilePaused).toBeLessThan(count / 2);
      const body = Buffer.from(await res.body.arrayBuffer());
      expect(body.length).toBe(piece.length * count + done.length);
      expect(body.subarray(body.length - piece.length - done.length).equals(Buffer.concat([piece, done]))).toBe(true);
      expect(pulled).toBe(count + 1);
    } finally {
      answer = null;
    }
  });

  it("sends a whole answer written at once (a cached stream replayed) in one socket write", async () => {
    const text = event("Hello") + "data: [DONE]\n\n";
    answer = (res) => {
      const ctx = newRequestContext("POST", "/v1/chat/completions");
      startStream(res, ctx, undefined, false);
      void writeStreamPiece(res, ctx, text, true).then(() => endStream(res, ctx, null));
    };
    try {
      socketWrites = 0;
      expect((await streamOf([])).toString()).toBe(text);
      expect(socketWrites).toBe(1);
    } finally {
      answer = null;
    }
  });
});
