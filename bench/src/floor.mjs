/**
 * The floor: the least any Node proxy can cost. node:http in, one undici Pool (keep-alive)
 * out, the body read once and the response piped through untouched (JSON and SSE alike).
 *   node src/floor.mjs --upstream http://127.0.0.1:PORT [--port 0]
 * Prints one JSON line `{"port":N}` on stdout once listening.
 *
 * Plain JavaScript, run by node itself: through tsx (as the bench's other scripts run) its
 * RSS carried tsx's loader and compile cache, ~31 MB at rest, which made the floor's memory
 * look larger than a bare Node proxy's.
 */
import { Buffer } from "node:buffer";
import { createServer } from "node:http";
import process from "node:process";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { Pool } from "undici";

const { values } = parseArgs({ options: { upstream: { type: "string" }, port: { type: "string", default: "0" } } });
if (!values.upstream) throw new Error("--upstream is required");
const pool = new Pool(values.upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const headers = { "content-type": "application/json", authorization: req.headers.authorization ?? "" };
    pool
      .request({ method: "POST", path: req.url ?? "/", headers, body: Buffer.concat(chunks) })
      .then(async (up) => {
        const length = up.headers["content-length"];
        res.writeHead(up.statusCode, { "content-type": String(up.headers["content-type"] ?? "application/json"), ...(length ? { "content-length": String(length) } : {}) });
        await pipeline(up.body, res);
      })
      .catch(() => res.headersSent ? res.destroy() : res.writeHead(502).end());
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), "127.0.0.1", () => {
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
