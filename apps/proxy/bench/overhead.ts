/**
 * Proxy overhead benchmark (loopback only, bounded):
 *   pnpm --filter @switchyard/proxy bench [--requests 2000] [--concurrency 16] [--limits]
 * Starts the mock upstream (no delays) in this process and the proxy as a child process
 * (node --import tsx src/main.ts), then sends the same requests to the mock directly and
 * through the proxy, non-streaming and streaming, with a fixed concurrency, and prints
 * latency p50/p99 and throughput. `--limits` sends through a key with RPM/TPM limits and
 * key, team and org budgets (all too large to refuse), so every request pays for the
 * rate-limit script, the budget reservation and the settle. Two more rows time a route
 * with the exact cache (all hits after the first) and a route that fails over from a
 * refused connection to the mock. Uses its own database (switchyard_bench_proxy) and
 * Redis DB 1, and removes the usage jobs it created.
 */
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { BENCH_PROVIDER_KEY, cleanupBenchRedis, seedBenchTenant, startSwitchyardProxy, stopChild } from "@switchyard/bench/switchyard";
import { createPrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { startMockUpstream } from "@switchyard/mock-upstream";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "16" },
    warmup: { type: "string", default: "200" },
    /** Write a CPU profile of the proxy process into this directory. */
    "cpu-prof-dir": { type: "string" },
    limits: { type: "boolean", default: false },
  },
});
const REQUESTS = Math.min(Number(values.requests), 50_000);
const CONCURRENCY = Math.min(Number(values.concurrency), 256);
const WARMUP = Math.min(Number(values.warmup), 5_000);
const REDIS_URL = "redis://127.0.0.1:6379/1";

interface Result {
  name: string;
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  errors: number;
}

async function run(name: string, origin: string, reqPath: string, headers: Record<string, string>, body: string, count: number): Promise<Result> {
  const pool = new Pool(origin, { connections: CONCURRENCY, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      next++;
      const t0 = performance.now();
      try {
        const res = await pool.request({ method: "POST", path: reqPath, headers, body });
        await res.body.text();
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return { name, p50: pct(50), p99: pct(99), mean: latencies.reduce((a, b) => a + b, 0) / latencies.length, rps: count / elapsed, errors };
}

async function main(): Promise<void> {
  const mock = await startMockUpstream({ eventDelayMs: 0 });
  const databaseUrl = await prepareTestDatabase("switchyard_bench_proxy");
  const prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  // The tenant of the suite in bench/ (key, and with --limits: RPM/TPM limits and 3 budgets).
  const tenant = await seedBenchTenant(prisma, { upstreamUrl: mock.url, limits: values.limits });
  // A route with the exact cache (every request after the first is a hit), and one whose
  // first target refuses connections, so every request fails over to the mock.
  const dead = await prisma.providerCredential.create({ data: { slug: "dead", type: "openai", baseUrl: "http://127.0.0.1:9/v1" } });
  await prisma.model.create({ data: { name: "dead-model", providerId: dead.id, upstreamModel: "gpt-4o-mini" } });
  await prisma.route.create({ data: { alias: "cached", targets: [{ model: "gpt-4o-mini" }], options: { cache: { ttlSeconds: 3600 } } } });
  await prisma.route.create({ data: { alias: "failover", targets: [{ model: "dead-model" }, { model: "gpt-4o-mini" }] } });
  await prisma.$disconnect();

  // Counters of this run only, so repeated runs never meet each other's windows.
  const limitsPrefix = `bench:${process.pid}:`;
  const { child, origin: proxyOrigin } = await startSwitchyardProxy({
    databaseUrl,
    redisUrl: REDIS_URL,
    limitsPrefix,
    port: 4000 + Math.floor(Math.random() * 1000) + 1000,
    cpuProfDir: values["cpu-prof-dir"],
  });
  const mockOrigin = new URL(mock.url).origin;
  try {
    const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];
    const plain = JSON.stringify({ model: "gpt-4o-mini", messages });
    const stream = JSON.stringify({ model: "gpt-4o-mini", messages, stream: true });
    const direct = { authorization: `Bearer ${BENCH_PROVIDER_KEY}`, "content-type": "application/json" };
    const viaProxy = { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" };

    const results: Result[] = [];
    for (const [label, body] of [
      ["non-streaming", plain],
      ["streaming", stream],
    ] as const) {
      await run("warmup", mockOrigin, "/v1/chat/completions", direct, body, WARMUP);
      await run("warmup", proxyOrigin, "/v1/chat/completions", viaProxy, body, WARMUP);
      results.push(await run(`${label} direct to mock`, mockOrigin, "/v1/chat/completions", direct, body, REQUESTS));
      results.push(await run(`${label} through proxy`, proxyOrigin, "/v1/chat/completions", viaProxy, body, REQUESTS));
    }
    // The routed paths: a cache hit (no upstream call) and a failover (a refused connection, then the mock).
    for (const [label, model] of [
      ["cache hit through proxy", "cached"],
      ["failover through proxy", "failover"],
    ] as const) {
      const body = JSON.stringify({ model, messages });
      await run("warmup", proxyOrigin, "/v1/chat/completions", viaProxy, body, WARMUP);
      results.push(await run(label, proxyOrigin, "/v1/chat/completions", viaProxy, body, REQUESTS));
    }

    const fmt = (n: number) => n.toFixed(2).padStart(8);
    console.log(
      `\n${REQUESTS} requests per row, concurrency ${CONCURRENCY}, loopback, mock upstream with no delays, ${values.limits ? "key with rate limits and 3 budgets" : "key without limits"} (Node ${process.version})\n`,
    );
    console.log(`${"scenario".padEnd(32)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"mean ms".padStart(8)} ${"req/s".padStart(9)} ${"errors".padStart(7)}`);
    for (const r of results) {
      console.log(`${r.name.padEnd(32)} ${fmt(r.p50)} ${fmt(r.p99)} ${fmt(r.mean)} ${r.rps.toFixed(0).padStart(9)} ${String(r.errors).padStart(7)}`);
    }
    // Pairs of "direct to mock" and "through proxy" rows (the first four); the routed rows have no direct twin.
    for (let i = 0; i < 4; i += 2) {
      const d = results[i];
      const p = results[i + 1];
      const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(2)}`;
      if (d && p) console.log(`overhead ${d.name.split(" ")[0]}: p50 ${signed(p.p50 - d.p50)} ms, p99 ${signed(p.p99 - d.p99)} ms`);
    }
  } finally {
    await stopChild(child);
    await mock.close();
    // No worker consumes the usage queue here: remove it, and the counters of this run.
    await cleanupBenchRedis(REDIS_URL, limitsPrefix);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
