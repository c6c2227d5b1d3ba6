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
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { createPrismaClient, generateVirtualKey } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { createQueue, createRedisConnection } from "@switchyard/jobs";
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
const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

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

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const mock = await startMockUpstream({ eventDelayMs: 0 });
  const databaseUrl = await prepareTestDatabase("switchyard_bench_proxy");
  const prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  const org = await prisma.organization.create({ data: { slug: "bench", name: "Bench" } });
  const team = await prisma.team.create({ data: { orgId: org.id, slug: "bench", name: "Bench" } });
  const provider = await prisma.providerCredential.create({
    data: { slug: "mock", type: "openai", baseUrl: mock.url, keys: { create: { label: "default", apiKeyRef: "env:BENCH_PROVIDER_KEY" } } },
  });
  await prisma.model.create({ data: { name: "gpt-4o-mini", providerId: provider.id, upstreamModel: "gpt-4o-mini" } });
  // A route with the exact cache (every request after the first is a hit), and one whose
  // first target refuses connections, so every request fails over to the mock.
  const dead = await prisma.providerCredential.create({ data: { slug: "dead", type: "openai", baseUrl: "http://127.0.0.1:9/v1" } });
  await prisma.model.create({ data: { name: "dead-model", providerId: dead.id, upstreamModel: "gpt-4o-mini" } });
  await prisma.route.create({ data: { alias: "cached", targets: [{ model: "gpt-4o-mini" }], options: { cache: { ttlSeconds: 3600 } } } });
  await prisma.route.create({ data: { alias: "failover", targets: [{ model: "dead-model" }, { model: "gpt-4o-mini" }] } });
  const key = generateVirtualKey();
  const limits = values.limits ? { rpmLimit: 10_000_000, tpmLimit: 1_000_000_000 } : {};
  const vk = await prisma.virtualKey.create({ data: { orgId: org.id, teamId: team.id, name: "bench", keyHash: key.hash, prefix: key.prefix, ...limits } });
  if (values.limits) {
    const big = 1_000_000_000_000_000n; // $1,000,000: never refuses
    await prisma.team.update({ where: { id: team.id }, data: limits });
    await prisma.budget.createMany({
      data: [
        { orgId: org.id, scope: "KEY", virtualKeyId: vk.id, amountNanoUsd: big, period: "DAY", hard: true },
        { orgId: org.id, scope: "TEAM", teamId: team.id, amountNanoUsd: big, period: "MONTH", hard: true },
        { orgId: org.id, scope: "ORG", amountNanoUsd: big, period: "MONTH", hard: false },
      ],
    });
  }
  await prisma.$disconnect();

  const port = 4000 + Math.floor(Math.random() * 1000) + 1000;
  const profile = values["cpu-prof-dir"] ? ["--cpu-prof", "--cpu-prof-dir", values["cpu-prof-dir"]] : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", "src/main.ts"], {
    cwd: appDir,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      SWITCHYARD_ENCRYPTION_KEY: "cd".repeat(32),
      PROXY_PORT: String(port),
      PROXY_HOST: "127.0.0.1",
      PROXY_SPOOL_DIR: await mkdtemp(path.join(tmpdir(), "switchyard-bench-spool-")),
      BENCH_PROVIDER_KEY: "sk-bench",
      LOG_LEVEL: "info",
      NODE_ENV: "production",
      // Counters of this run only, so repeated runs never meet each other's windows.
      SWITCHYARD_LIMITS_PREFIX: `bench:${process.pid}:`,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const proxyOrigin = `http://127.0.0.1:${port}`;
  const mockOrigin = new URL(mock.url).origin;
  try {
    await waitForHttp(`${proxyOrigin}/readyz`, 30_000);
    const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];
    const plain = JSON.stringify({ model: "gpt-4o-mini", messages });
    const stream = JSON.stringify({ model: "gpt-4o-mini", messages, stream: true });
    const direct = { authorization: "Bearer sk-bench", "content-type": "application/json" };
    const viaProxy = { authorization: `Bearer ${key.key}`, "content-type": "application/json" };

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
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await mock.close();
    // No worker consumes the usage queue here; remove what the bench put on it.
    const redis = createRedisConnection(REDIS_URL);
    const queue = createQueue("usage", redis);
    await queue.obliterate({ force: true }).catch(() => undefined);
    // And the counters of this run.
    const counters = await redis.keys(`bench:${process.pid}:*`).catch(() => []);
    if (counters.length > 0) await redis.del(...counters).catch(() => undefined);
    await queue.close();
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
