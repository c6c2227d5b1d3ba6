/**
 * The load generator: N keep-alive connections (one undici Pool, no pipelining), each
 * sending the same POST back to back for a fixed duration or a fixed count, after a
 * warm-up that is not recorded. Runs as its own process so it can be pinned to a core.
 *   node --import tsx src/load.ts --origin http://127.0.0.1:PORT --body '{"model":...}'
 *     [--path /v1/chat/completions] [--header "authorization: Bearer x"]... [--stream]
 *     [--connections 1] [--duration-ms 5000 | --count N] [--warmup-ms 1000 | --warmup-count N]
 * Prints one JSON line (LoadResult) on stdout.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Pool } from "undici";

export interface LoadOptions {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** A streamed response must end with `data: [DONE]`, else it counts as an error. */
  stream: boolean;
  connections: number;
  /** Stop after this long (ms) ... */
  durationMs?: number;
  /** ... or after this many requests. */
  count?: number;
  warmupMs?: number;
  warmupCount?: number;
}

export interface LoadResult {
  requests: number;
  /** Requests of the (unrecorded) warm-up, so a caller can divide CPU time by all requests. */
  warmupRequests: number;
  errors: number;
  /** First few error descriptions (status codes or messages), for the report. */
  errorSamples: string[];
  elapsedMs: number;
  rps: number;
  /** Whole response (request sent to last body byte), ms. */
  p50: number;
  p99: number;
  mean: number;
  /** Request sent to first body byte, ms. */
  ttfbP50: number;
  ttfbP99: number;
}

const DONE = Buffer.from("[DONE]");

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(opts.origin, { connections: opts.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const body = Buffer.from(opts.body);
  const headers = { "content-type": "application/json", ...opts.headers };

  const phase = async (until: { ms?: number; count?: number }, record: boolean) => {
    const latencies: number[] = [];
    const ttfbs: number[] = [];
    const errorSamples: string[] = [];
    let errors = 0;
    let issued = 0;
    const started = performance.now();
    const end = until.ms !== undefined ? started + until.ms : Infinity;
    const limit = until.count ?? Infinity;
    const fail = (why: string) => {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(why);
    };
    const worker = async () => {
      while (issued < limit && performance.now() < end) {
        issued++;
        const t0 = performance.now();
        let first = 0;
        let tail: Buffer = Buffer.alloc(0);
        try {
          const res = await pool.request({ method: "POST", path: opts.path, headers, body });
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            if (first === 0) first = performance.now();
            // Keep the last bytes across chunks: a proxy may write "[DONE]" and its blank line apart.
            tail = tail.length + chunk.length > 64 ? Buffer.concat([tail, chunk]).subarray(-64) : Buffer.concat([tail, chunk]);
          }
          if (res.statusCode !== 200) fail(`HTTP ${res.statusCode}`);
          // A cut stream lacks [DONE] at its end.
          else if (opts.stream && !tail.includes(DONE)) fail("stream ended without [DONE]");
        } catch (err) {
          fail(err instanceof Error ? err.message : String(err));
        }
        const t1 = performance.now();
        if (record) {
          latencies.push(t1 - t0);
          ttfbs.push((first || t1) - t0);
        }
      }
    };
    await Promise.all(Array.from({ length: opts.connections }, worker));
    const elapsedMs = performance.now() - started;
    latencies.sort((a, b) => a - b);
    ttfbs.sort((a, b) => a - b);
    return {
      requests: record ? latencies.length : issued,
      warmupRequests: 0,
      errors,
      errorSamples,
      elapsedMs,
      rps: latencies.length / (elapsedMs / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      mean: latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : 0,
      ttfbP50: percentile(ttfbs, 50),
      ttfbP99: percentile(ttfbs, 99),
    } satisfies LoadResult;
  };

  try {
    const warmup = opts.warmupCount || opts.warmupMs ? await phase({ ms: opts.warmupMs, count: opts.warmupCount }, false) : null;
    const measured = await phase({ ms: opts.durationMs, count: opts.count }, true);
    // Warm-up errors count too: every request of a run must succeed.
    return { ...measured, warmupRequests: warmup?.requests ?? 0, errors: measured.errors + (warmup?.errors ?? 0), errorSamples: [...(warmup?.errorSamples ?? []), ...measured.errorSamples].slice(0, 5) };
  } finally {
    await pool.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      origin: { type: "string" },
      path: { type: "string", default: "/v1/chat/completions" },
      header: { type: "string", multiple: true, default: [] },
      body: { type: "string" },
      stream: { type: "boolean", default: false },
      connections: { type: "string", default: "1" },
      "duration-ms": { type: "string" },
      count: { type: "string" },
      "warmup-ms": { type: "string" },
      "warmup-count": { type: "string" },
    },
  });
  if (!values.origin || !values.body) throw new Error("--origin and --body are required");
  if (!values["duration-ms"] && !values.count) throw new Error("give --duration-ms or --count");
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const headers: Record<string, string> = {};
  for (const h of values.header) {
    const i = h.indexOf(":");
    if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const result = await runLoad({
    origin: values.origin,
    path: values.path,
    headers,
    body: values.body,
    stream: values.stream,
    connections: Number(values.connections),
    durationMs: num(values["duration-ms"]),
    count: num(values.count),
    warmupMs: num(values["warmup-ms"]),
    warmupCount: num(values["warmup-count"]),
  });
  console.log(JSON.stringify(result));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
