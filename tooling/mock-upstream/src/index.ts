import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { isUsageOnlyEvent, loadFixtures, splitSseEvents } from "./fixtures";

export * from "./fixtures";

/**
 * A fault the mock injects, set with `setFault` or per request with the
 * `x-mock-fault` header (the header wins):
 * - `status:<code>`: answer with that status and an OpenAI error body (400 replays the
 *   recorded unsupported_parameter error)
 * - `timeout`: never answer
 * - `reset`: destroy the socket without answering
 * - `slow-first-byte:<ms>`: wait before the status line
 * - `slow-stream:<ms>`: wait between stream events
 * - `stream-cut`: stop midway (streams: without `data: [DONE]`) and close the socket
 */
export type MockFault = string;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON when the body was JSON, else the raw text ("" for no body). */
  body: unknown;
  /** Set when the client closed the connection before the mock finished answering. */
  aborted: boolean;
  /** Set when the mock finished writing its answer. */
  completed: boolean;
}

export interface MockUpstreamOptions {
  port?: number;
  host?: string;
  /** Delay between stream events in ms (default 0: one event per event-loop turn). */
  eventDelayMs?: number;
  /** Keep at most this many recorded requests, oldest dropped first (default 1000). */
  maxRecorded?: number;
}

export interface MockUpstream {
  /** Base URL including `/v1`, e.g. http://127.0.0.1:4010/v1 */
  url: string;
  port: number;
  requests: RecordedRequest[];
  setFault(fault: MockFault | null): void;
  /** Non-streaming reply to serve: "text" (default) or "cached-tokens"; header `x-mock-scenario` wins. */
  setScenario(scenario: "text" | "cached-tokens" | null): void;
  close(): Promise<void>;
}

const MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1-nano"];

const ERROR_MESSAGES: Record<number, { message: string; type: string; code: string | null }> = {
  401: { message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key" },
  404: { message: "The model does not exist or you do not have access to it.", type: "invalid_request_error", code: "model_not_found" },
  429: { message: "Rate limit reached for requests.", type: "requests", code: "rate_limit_exceeded" },
  500: { message: "The server had an error while processing your request. Sorry about that!", type: "server_error", code: null },
  503: { message: "The engine is currently overloaded, please try again later.", type: "server_error", code: null },
};

function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function errorBody(status: number): string {
  if (status === 400) return loadFixtures().chatError400;
  const e = ERROR_MESSAGES[status] ?? { message: `Mock upstream error ${status}.`, type: "server_error", code: null };
  return JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: e.code } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

interface ChatBody {
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  tools?: unknown[];
  messages?: { role?: string }[];
}

/** Picks the recorded reply that fits the request. */
function pickReply(body: ChatBody, scenario: string | undefined): { stream: boolean; text: string } {
  const fx = loadFixtures();
  const hasTools = Array.isArray(body.tools) && body.tools.length > 0;
  // Tool turn 2 is the reply after the tool result came back.
  const turn = body.messages?.some((m) => m.role === "tool") ? 1 : 0;
  if (body.stream === true) {
    const text = hasTools ? fx.toolCallStream[turn]?.responseBody : fx.chatTextStream;
    return { stream: true, text: text ?? fx.chatTextStream };
  }
  if (scenario === "cached-tokens") return { stream: false, text: fx.chatCachedTokens };
  if (hasTools) return { stream: false, text: fx.toolCall[turn]?.responseBody ?? fx.chatText };
  return { stream: false, text: fx.chatText };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const host = opts.host ?? "127.0.0.1";
  const defaultDelay = opts.eventDelayMs ?? 0;
  const requests: RecordedRequest[] = [];
  const maxRecorded = opts.maxRecorded ?? 1000;
  const sockets = new Set<Socket>();
  let currentFault: MockFault | null = null;
  let currentScenario: string | null = null;

  async function handle(req: IncomingMessage, res: ServerResponse, rec: RecordedRequest): Promise<void> {
    const auth = headerValue(req.headers, "authorization");
    if (!auth?.startsWith("Bearer ") || auth.length <= "Bearer ".length) {
      sendJson(
        res,
        401,
        JSON.stringify({
          error: {
            message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            type: "invalid_request_error",
            param: null,
            code: null,
          },
        }),
      );
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
      sendJson(res, Number(faultArg) || 500, errorBody(Number(faultArg) || 500));
      return;
    }
    if (faultName === "slow-first-byte") await sleep(Number(faultArg) || 0);
    const eventDelay = faultName === "slow-stream" ? Number(faultArg) || 0 : defaultDelay;
    const cut = faultName === "stream-cut";

    if (req.method === "GET" && rec.path === "/v1/models") {
      const data = MODELS.map((id) => ({ id, object: "model", created: 1715367049, owned_by: "system" }));
      sendJson(res, 200, JSON.stringify({ object: "list", data }));
      return;
    }
    if (req.method !== "POST" || rec.path !== "/v1/chat/completions") {
      sendJson(res, 404, JSON.stringify({ error: { message: `Unknown request URL: ${req.method} ${rec.path}.`, type: "invalid_request_error", param: null, code: "unknown_url" } }));
      return;
    }
    if (typeof rec.body !== "object" || rec.body === null) {
      sendJson(res, 400, JSON.stringify({ error: { message: "We could not parse the JSON body of your request.", type: "invalid_request_error", param: null, code: null } }));
      return;
    }
    const body = rec.body as ChatBody;
    const reply = pickReply(body, headerValue(req.headers, "x-mock-scenario") ?? currentScenario ?? undefined);

    if (!reply.stream) {
      if (cut) {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(reply.text) });
        res.write(reply.text.slice(0, Math.floor(reply.text.length / 2)));
        await sleep(5);
        req.socket.destroy();
        return;
      }
      sendJson(res, 200, reply.text);
      return;
    }

    // As OpenAI does: the usage-only chunk is sent only when the client asked for it.
    const includeUsage = body.stream_options?.include_usage === true;
    const events = splitSseEvents(reply.text).filter((e) => includeUsage || !isUsageOnlyEvent(e));
    const stopAt = cut ? Math.ceil(events.length / 2) : events.length;
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
    for (let i = 0; i < stopAt; i++) {
      if (res.destroyed) return;
      res.write(`${events[i]}\n\n`);
      if (eventDelay > 0) await sleep(eventDelay);
      else await new Promise((r) => setImmediate(r));
    }
    if (cut) {
      req.socket.destroy();
      return;
    }
    res.end();
  }

  const server = createServer((req, res) => {
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: (req.url ?? "/").split("?")[0] ?? "/",
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
        if (!res.headersSent) sendJson(res, 500, errorBody(500));
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
    url: `http://${urlHost}:${port}/v1`,
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
