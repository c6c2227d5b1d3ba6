import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { headerValue, sendJson, type MockEmbeddingMode, type RecordedRequest } from "./core";
import { FaultSchedule, parseFault, statusFaultHeaders, type FaultSpec } from "./faults";
import { personalities, type MockProviderName } from "./providers";

export * from "./fixtures";
export type { RecordedRequest, MockPersonality, MockRequestContext, MockEmbeddingMode } from "./core";
export { lexicalEmbedding, lexicalTokens } from "./providers/lexical-embedding";
export type { MockProviderName } from "./providers";

/**
 * A fault the mock injects. Which one a request gets, first match wins: the
 * `x-mock-fault` request header; the next fault of `queueFaults` (one per request; a
 * queued null answers normally); the `setFaultFor(model)` fault when the request's model
 * (body `model`, or the model in a Gemini / Azure path) matches; the standing `setFault`.
 * - `status:<code>[:retry-after=<s>][:retry-after-ms=<ms>]`: answer with that status and
 *   the provider's real error body (e.g. OpenAI's 400 replays the recorded
 *   unsupported_parameter error, Anthropic's 529 is overloaded_error, Gemini's 429 the
 *   recorded RESOURCE_EXHAUSTED). `retry-after=` sets the retry-after header (seconds),
 *   `retry-after-ms=` OpenAI's retry-after-ms header; without either only the provider's
 *   default goes out (Anthropic's 429: `retry-after: 1`; `retry-after=none` drops it).
 * - `timeout`: never answer (the socket stays open until the client gives up)
 * - `reset`: destroy the socket before any byte of the answer (streams and JSON alike)
 * - `reset-mid-stream` (same as `stream-cut`): status and headers, then half the stream
 *   events (or half the JSON body), then the socket is destroyed with no end marker
 * - `slow-first-byte:<ms>`: wait before the status line
 * - `slow-first-token:<ms>`: status line and headers at once, the first stream event
 *   (or the JSON body) after <ms>
 * - `slow-stream:<ms>`: wait between stream events
 */
export type MockFault = FaultSpec;

export interface MockUpstreamOptions {
  /** Which provider to play (default "openai"). */
  provider?: MockProviderName;
  port?: number;
  host?: string;
  /** Delay between stream events in ms (default 0: one event per event-loop turn). */
  eventDelayMs?: number;
  /** Keep at most this many recorded requests, oldest dropped first (default 1000). */
  maxRecorded?: number;
  /**
   * How /embeddings vectors are made (OpenAI personality): "hash" (default) gives each
   * exact input its own opaque vector; "lexical" gives similar wording similar vectors
   * (a bag-of-words embedder, for semantic-cache tests; not a language model).
   */
  embeddings?: MockEmbeddingMode;
}

export interface MockUpstream {
  /** Base URL including the API prefix, e.g. http://127.0.0.1:4010/v1 */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** The standing fault for every request (null: none). */
  setFault(fault: MockFault | null): void;
  /** Faults for the next requests, one each, before any other but the header (null: answer that one normally). */
  queueFaults(faults: readonly (MockFault | null)[]): void;
  /** A fault only for requests for this model (null clears it); after the queue, before the standing fault. */
  setFaultFor(model: string, fault: MockFault | null): void;
  /** Clears the queue, the per-model faults and the standing fault. */
  clearFaults(): void;
  /** Requests answered with an injected fault so far (each request's fault is also on `requests[i].fault`). */
  readonly faultsServed: number;
  /** Queued faults not yet consumed. */
  readonly faultsQueued: number;
  /** Which recorded reply to serve (personality-specific, e.g. OpenAI's "cached-tokens" or "no-usage"); header `x-mock-scenario` wins. */
  setScenario(scenario: string | null): void;
  /** Switches the /embeddings mode of a running mock (see MockUpstreamOptions.embeddings). */
  setEmbeddings(mode: MockEmbeddingMode): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const personality = personalities[opts.provider ?? "openai"];
  const host = opts.host ?? "127.0.0.1";
  const defaultDelay = opts.eventDelayMs ?? 0;
  const requests: RecordedRequest[] = [];
  const maxRecorded = opts.maxRecorded ?? 1000;
  const sockets = new Set<Socket>();
  const faults = new FaultSchedule();
  let currentScenario: string | null = null;
  let embeddingMode: MockEmbeddingMode = opts.embeddings ?? "hash";

  async function handle(req: IncomingMessage, res: ServerResponse, rec: RecordedRequest): Promise<void> {
    const denied = personality.authorize(req, rec);
    if (denied) {
      sendJson(res, denied.status, denied.body);
      return;
    }
    rec.fault = faults.next(rec);
    const { name: faultName, arg: faultArg, options } = parseFault(rec.fault);
    if (faultName === "timeout") return; // never answer; the socket stays open until the client gives up
    if (faultName === "reset") {
      req.socket.destroy();
      return;
    }
    if (faultName === "status") {
      const status = Number(faultArg) || 500;
      sendJson(res, status, personality.errorBody(status), statusFaultHeaders(options, personality.errorHeaders?.(status) ?? {}));
      return;
    }
    if (faultName === "slow-first-byte") await sleep(Number(faultArg) || 0);
    const path = rec.path.startsWith(personality.basePath) ? rec.path.slice(personality.basePath.length) : rec.path;
    await personality.handle({
      req,
      res,
      rec,
      path,
      scenario: headerValue(req.headers, "x-mock-scenario") ?? currentScenario ?? undefined,
      eventDelayMs: faultName === "slow-stream" ? Number(faultArg) || 0 : defaultDelay,
      cut: faultName === "stream-cut" || faultName === "reset-mid-stream",
      firstTokenDelayMs: faultName === "slow-first-token" ? Number(faultArg) || 0 : 0,
      embeddings: embeddingMode,
    });
  }

  const server = createServer((req, res) => {
    const [pathPart = "/", query = ""] = (req.url ?? "/").split("?");
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: pathPart,
      query,
      headers: req.headers,
      body: "",
      aborted: false,
      completed: false,
      fault: null,
    };
    requests.push(rec);
    if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);
    res.on("finish", () => (rec.completed = true));
    res.on("close", () => {
      if (!res.writableFinished) rec.aborted = true;
    });
    readBody(req)
      .then((text) => {
        try {
          rec.body = text === "" ? "" : (JSON.parse(text) as unknown);
        } catch {
          rec.body = text;
        }
        return handle(req, res, rec);
      })
      .catch(() => {
        if (!res.headersSent) sendJson(res, 500, personality.errorBody(500));
        else res.destroy();
      });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}${personality.basePath}`,
    port,
    requests,
    setFault(fault) {
      faults.setStanding(fault);
    },
    queueFaults(list) {
      faults.enqueue(list);
    },
    setFaultFor(model, fault) {
      faults.setFor(model, fault);
    },
    clearFaults() {
      faults.reset();
    },
    get faultsServed() {
      return faults.served;
    },
    get faultsQueued() {
      return faults.pending;
    },
    setScenario(scenario) {
      currentScenario = scenario;
    },
    setEmbeddings(mode) {
      embeddingMode = mode;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
