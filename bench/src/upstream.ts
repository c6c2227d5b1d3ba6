/**
 * The benchmark's mock upstream: an OpenAI chat completions endpoint on bare node:http that
 * answers every POST with a recorded response prepared once as Buffers (JSON, or SSE when
 * the body asks for `"stream":true`). It never parses the request, so its cost per request
 * is as small as node:http allows and the same for every row.
 *   node --import tsx src/upstream.ts [--port 0] [--latency-ms 0] [--token-interval-ms 0]
 * Prints one JSON line `{"port":N}` on stdout once listening.
 */
import { createServer, type Server } from "node:http";
import { type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { fixtureFiles, readFixture } from "@switchyard/mock-upstream/fixtures";

export interface UpstreamOptions {
  /** Delay before the response starts (headers and, for streams, the first event). */
  latencyMs?: number;
  /** Delay between two SSE events; 0 writes the whole stream at once. */
  tokenIntervalMs?: number;
}

/** The recorded bodies, serialised once. */
export interface UpstreamBodies {
  json: Buffer;
  /** One Buffer per SSE event, each ending with its blank line. */
  events: Buffer[];
  /** All events concatenated (tokenIntervalMs 0). */
  stream: Buffer;
}

export function loadUpstreamBodies(): UpstreamBodies {
  const json = Buffer.from(JSON.stringify(JSON.parse(readFixture(fixtureFiles.chatText))));
  const text = readFixture(fixtureFiles.chatTextStream).replace(/\r\n/g, "\n");
  const events = text
    .split("\n\n")
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((e) => Buffer.from(`${e}\n\n`));
  return { json, events, stream: Buffer.concat(events) };
}

const STREAM_MARKER = Buffer.from('"stream":true');

export function createUpstreamServer(opts: UpstreamOptions = {}): Server {
  const latencyMs = opts.latencyMs ?? 0;
  const intervalMs = opts.tokenIntervalMs ?? 0;
  const bodies = loadUpstreamBodies();
  const jsonHeaders = { "content-type": "application/json", "content-length": String(bodies.json.length) };
  const sseHeaders = { "content-type": "text/event-stream", "cache-control": "no-cache" };

  const server = createServer((req, res) => {
    if (req.method !== "POST") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      // Clients send compact JSON (JSON.stringify), so a byte search is enough and costs no parse.
      const stream = Buffer.concat(chunks).includes(STREAM_MARKER);
      const respond = () => {
        if (!stream) {
          res.writeHead(200, jsonHeaders).end(bodies.json);
          return;
        }
        res.writeHead(200, sseHeaders);
        if (intervalMs === 0) {
          res.end(bodies.stream);
          return;
        }
        let i = 0;
        const next = () => {
          if (res.destroyed) return;
          const event = bodies.events[i++];
          if (!event) {
            res.end();
            return;
          }
          res.write(event);
          setTimeout(next, intervalMs);
        };
        next();
      };
      if (latencyMs > 0) setTimeout(respond, latencyMs);
      else respond();
    });
  });
  // Load generators and proxies keep connections open for the whole run.
  server.keepAliveTimeout = 60_000;
  return server;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      "latency-ms": { type: "string", default: "0" },
      "token-interval-ms": { type: "string", default: "0" },
    },
  });
  const server = createUpstreamServer({ latencyMs: Number(values["latency-ms"]), tokenIntervalMs: Number(values["token-interval-ms"]) });
  server.listen(Number(values.port), values.host, () => {
    console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
  });
  process.once("SIGTERM", () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
