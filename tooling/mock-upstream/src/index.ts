import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { headerValue, sendJson, type RecordedRequest } from "./core";
import { personalities, type MockProviderName } from "./providers";

export * from "./fixtures";
export type { RecordedRequest, MockPersonality, MockRequestContext } from "./core";
export type { MockProviderName } from "./providers";

/**
 * A fault the mock injects, set with `setFault` or per request with the
 * `x-mock-fault` header (the header wins):
 * - `status:<code>`: answer with that status and the provider's error body (OpenAI's
 *   400 replays the recorded unsupported_parameter error)
 * - `timeout`: never answer
 * - `reset`: destroy the socket without answering
 * - `slow-first-byte:<ms>`: wait before the status line
 * - `slow-stream:<ms>`: wait between stream events
 * - `stream-cut`: stop midway (streams: without their end marker) and close the socket
 */
export type MockFault = string;

export interface MockUpstreamOptions {
  /** Which provider to play (default "openai"). */
  provider?: MockProviderName;
  port?: number;
  host?: string;
  /** Delay between stream events in ms (default 0: one event per event-loop turn). */
  eventDelayMs?: number;
  /** Keep at most this many recorded requests, oldest dropped first (default 1000). */
  maxRecorded?: number;
}

export interface MockUpstream {
  /** Base URL including the API prefix, e.g. http://127.0.0.1:4010/v1 */
  url: string;
  port: number;
  requests: RecordedRequest[];
  setFault(fault: MockFault | null): void;
  /** Which recorded reply to serve (personality-specific, e.g. OpenAI's "cached-tokens"); header `x-mock-scenario` wins. */
  setScenario(scenario: string | null): void;
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
  let currentFault: MockFault | null = null;
  let currentScenario: string | null = null;

  async function handle(req: IncomingMessage, res: ServerResponse, rec: RecordedRequest): Promise<void> {
    const denied = personality.authorize(req, rec);
    if (denied) {
      sendJson(res, denied.status, denied.body);
      return;
    }
    const fault = headerValue(req.headers, "x-mock-fault") ?? currentFault ?? "";
    const [faultName = "", faultArg = ""] = fault.split(":");
    if (faultName === "timeout") return; // never answer; the socket stays open until the client gives up
    if (faultName === "reset") {
      req.socket.destroy();
      return;
    }
    if (faultName === "status") {
      const status = Number(faultArg) || 500;
      sendJson(res, status, personality.errorBody(status));
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
      cut: faultName === "stream-cut",
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
      currentFault = fault;
    },
    setScenario(scenario) {
      currentScenario = scenario;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
