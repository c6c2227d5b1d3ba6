import type { IncomingHttpHeaders } from "node:http";
import type { UpstreamHttpRequest } from "@switchyard/providers";
import { util, type Dispatcher } from "undici";

/**
 * Aborts one upstream request. Not an AbortController: in Node 20, reading a controller's
 * `signal` builds an EventTarget and re-prototypes it, ~4 µs (16k instructions) on every
 * upstream request. The reason is the DOMException an AbortController gives, so an aborted
 * request fails with the same error as one aborted through undici's own signal handling.
 */
export class UpstreamAbort {
  aborted = false;
  reason: Error | undefined = undefined;
  /** The request this aborts (requestUpstream binds it); at most one. */
  private target: UpstreamReply | null = null;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new DOMException("This operation was aborted", "AbortError");
    this.target?.destroy(this.reason);
  }

  /** @internal requestUpstream's binding; null once the request is over. */
  bind(reply: UpstreamReply | null): void {
    this.target = reply;
  }
}

/** Origin and path of the few upstream URLs, parsed once each. */
const targets = new Map<string, { origin: string; path: string }>();

function originAndPath(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: u.search ? `${u.pathname}${u.search}` : u.pathname };
    // Provider base URLs are few; a bound keeps a misconfiguration from growing it forever.
    if (targets.size >= 1024) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/** Bytes a reply holds unread before undici stops reading its socket (undici's body default). */
const HIGH_WATER_BYTES = 64 * 1024;

type Waiter = { resolve: (r: IteratorResult<Buffer, undefined>) => void; reject: (err: unknown) => void };
const DONE: IteratorResult<Buffer, undefined> = { done: true, value: undefined };

/**
 * A provider's answer, read straight from undici's dispatcher: the status and headers
 * once they are here, then the body's chunks as they come (`next()`, like an async
 * iterator's), or all of it (`bytes()`, `text()`).
 *
 * Not undici's `request()`: its body is a Readable stream, and reading one costs a stream
 * per request, its async iterator with the ~8 listeners it puts on the stream, and four to
 * six `process.nextTick`s. On Node 20 each nextTick's tick object (a literal with symbol
 * keys) goes through the V8 runtime, ~4k instructions each. Here a chunk is handed to the
 * waiting reader, or queued, with no stream in between.
 *
 * It is the handler undici's own `request()` gives the dispatcher (the callbacks undici
 * calls without a wrapper), so timeouts (headersTimeout, bodyTimeout), keep-alive and
 * errors are undici's. Backpressure is undici's too: past 64 KiB unread, onData answers
 * false and undici stops reading the socket until `next()` has taken the queue below that.
 */
export class UpstreamReply implements Dispatcher.DispatchHandler {
  statusCode = 0;
  /** The body: this object (what undici's `ResponseData.body` is to `request()`). */
  readonly body: UpstreamReply = this;
  private rawHeaders: Buffer[] = [];
  private parsedHeaders: IncomingHttpHeaders | null = null;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  /** The error the body ends with (undici's, or the reason it was destroyed). */
  private failure: Error | null = null;
  private waiter: Waiter | null = null;
  private abortDispatch: ((err?: Error) => void) | null = null;
  private resumeSocket: (() => void) | null = null;
  private paused = false;
  /** Until the headers are here: the caller of requestUpstream. */
  private opening: { resolve: (r: UpstreamReply) => void; reject: (err: unknown) => void } | null;

  constructor(
    private readonly signal: UpstreamAbort,
    resolve: (r: UpstreamReply) => void,
    reject: (err: unknown) => void,
  ) {
    this.opening = { resolve, reject };
  }

  /** Bytes received and not read yet (at most ~64 KiB and a chunk: see backpressure above). */
  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  /** The response headers, lower-cased; parsed on first use (a stream's are rarely read). */
  get headers(): IncomingHttpHeaders {
    this.parsedHeaders ??= util.parseHeaders(this.rawHeaders) as IncomingHttpHeaders;
    return this.parsedHeaders;
  }

  // --- what undici calls ---

  onConnect(abort: (err?: Error) => void): void {
    this.abortDispatch = abort;
    // Destroyed before undici had the request on a socket (an abort, a timeout): stop it now.
    if (this.failure) abort(this.failure);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the answer is still to come
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    this.resumeSocket = resume;
    const opening = this.opening;
    this.opening = null;
    opening?.resolve(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.failure) return false;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      waiter.resolve({ done: false, value: chunk });
      return true;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes < HIGH_WATER_BYTES) return true;
    this.paused = true;
    return false;
  }

  onComplete(): void {
    this.ended = true;
    this.signal.bind(null);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.resolve(DONE);
  }

  onError(err: Error): void {
    this.signal.bind(null);
    this.failure ??= err;
    const opening = this.opening;
    this.opening = null;
    opening?.reject(this.failure);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(this.failure);
  }

  // --- what the proxy calls ---

  /**
   * The body's next chunk, or `done` at its end. Chunks that came before an error are
   * handed out first, then the error is thrown; after `destroy()` nothing more is.
   */
  next(): Promise<IteratorResult<Buffer, undefined>> {
    const chunk = this.queue.shift();
    if (chunk !== undefined) {
      this.queuedBytes -= chunk.length;
      if (this.paused && this.queuedBytes < HIGH_WATER_BYTES) {
        this.paused = false;
        this.resumeSocket?.();
      }
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(DONE);
    if (this.waiter) return Promise.reject(new Error("UpstreamReply.next() called again before the last call resolved"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The whole body (what is left of it). */
  async bytes(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let r = await this.next(); !r.done; r = await this.next()) parts.push(r.value);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString("utf8");
  }

  /**
   * Stops the exchange: undici aborts the request (closing its connection if it is
   * still in flight), unread chunks are dropped, and a pending or later `next()` throws
   * `err`. Nothing happens to a body already read to its end.
   */
  destroy(err: Error = new DOMException("This operation was aborted", "AbortError")): void {
    this.queue = [];
    this.queuedBytes = 0;
    if (this.ended || this.failure) return;
    this.failure = err;
    // onError follows (from undici, now or once the request is on a socket) and tells the waiters.
    if (this.abortDispatch) this.abortDispatch(err);
    else this.onError(err);
  }
}

/**
 * Sends one request upstream and resolves with the answer once its headers are here
 * (any status); rejects with undici's error when none comes, or with the signal's reason
 * when it is aborted first. The origin and path are split once per URL: undici's
 * top-level `request(url, opts)` parses the URL on every call.
 */
export function requestUpstream(
  dispatcher: Dispatcher,
  http: UpstreamHttpRequest,
  signal: UpstreamAbort,
  headersTimeout: number,
  bodyTimeout: number,
): Promise<UpstreamReply> {
  if (signal.reason) return Promise.reject(signal.reason); // aborted already
  const { origin, path } = originAndPath(http.url);
  return new Promise((resolve, reject) => {
    const reply = new UpstreamReply(signal, resolve, reject);
    signal.bind(reply);
    dispatcher.dispatch({ origin, path, method: http.method, headers: http.headers, body: http.body, headersTimeout, bodyTimeout }, reply);
  });
}
