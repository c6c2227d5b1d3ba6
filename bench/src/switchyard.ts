/**
 * Setting up Switchyard for a benchmark: a tenant seeded in its own database (an org, a
 * team, the mock provider and model, a virtual key, optionally rate limits and budgets),
 * the proxy as a child process (the built dist/main.js, as production runs it, or
 * src/main.ts through tsx), and the Redis cleanup.
 * Shared by the suite's runner and apps/proxy/bench/overhead.ts.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateVirtualKey, type PrismaClient } from "@switchyard/db";
import { createQueue, createRedisConnection } from "@switchyard/jobs";
import { deleteKeysWithPrefix } from "@switchyard/limits";
import { spawnNode } from "./procs";

/** apps/proxy, whose src/main.ts the benchmarks start. */
export const proxyAppDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../apps/proxy");

/** The provider key the seeded credential points at ("env:BENCH_PROVIDER_KEY"). */
export const BENCH_PROVIDER_KEY = "sk-bench";

export interface BenchTenant {
  orgId: string;
  teamId: string;
  providerId: string;
  /** The raw virtual key to send as `Authorization: Bearer`. */
  key: string;
}

/**
 * Seeds one tenant whose model `gpt-4o-mini` goes to `upstreamUrl` (an OpenAI base URL
 * ending in /v1). `limits` gives the key and team RPM/TPM limits and key, team and org
 * budgets, all too large to refuse, so every request pays for the rate-limit script, the
 * budget reservation and the settle. Expects an empty database.
 */
export async function seedBenchTenant(prisma: PrismaClient, opts: { upstreamUrl: string; limits: boolean }): Promise<BenchTenant> {
  const org = await prisma.organization.create({ data: { slug: "bench", name: "Bench" } });
  const team = await prisma.team.create({ data: { orgId: org.id, slug: "bench", name: "Bench" } });
  const provider = await prisma.providerCredential.create({
    data: { slug: "mock", type: "openai", baseUrl: opts.upstreamUrl, keys: { create: { label: "default", apiKeyRef: "env:BENCH_PROVIDER_KEY" } } },
  });
  await prisma.model.create({ data: { name: "gpt-4o-mini", providerId: provider.id, upstreamModel: "gpt-4o-mini" } });
  const key = generateVirtualKey();
  const limits = opts.limits ? { rpmLimit: 10_000_000, tpmLimit: 1_000_000_000 } : {};
  const vk = await prisma.virtualKey.create({ data: { orgId: org.id, teamId: team.id, name: "bench", keyHash: key.hash, prefix: key.prefix, ...limits } });
  if (opts.limits) {
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
  return { orgId: org.id, teamId: team.id, providerId: provider.id, key: key.key };
}

export interface StartProxyOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Counters of this run only, so repeated runs never meet each other's windows. */
  limitsPrefix: string;
  port: number;
  /** Prefix for the command, e.g. ["taskset", "-c", "0"]; the proxy's pid stays the child's pid (taskset execs). */
  pin?: string[];
  /** Write a CPU profile of the proxy process into this directory. */
  cpuProfDir?: string;
  logLevel?: string;
  /**
   * "dist" runs apps/proxy/dist/main.js (what production runs: `pnpm --filter
   * @switchyard/proxy build` first, see `buildProxy`); "src" runs src/main.ts through tsx,
   * which costs ~100 MB of RSS for the compiler. Default "src".
   */
  entry?: "dist" | "src";
  /** Node flags after the product's own (`proxyNodeFlags()`); a later V8 flag overrides an earlier one. */
  nodeArgs?: string[];
  /** How long to wait for /readyz (default 60 s; far longer under valgrind). */
  readyTimeoutMs?: number;
}

/** The V8 flags production runs the proxy with: apps/proxy/package.json's "nodeFlags". */
export function proxyNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(proxyAppDir, "package.json"), "utf8")) as { nodeFlags?: unknown };
  if (!Array.isArray(pkg.nodeFlags) || !pkg.nodeFlags.every((f) => typeof f === "string")) throw new Error("apps/proxy/package.json has no nodeFlags list");
  return pkg.nodeFlags;
}

/** Builds apps/proxy/dist/main.js (tsup), so the benchmark measures the current sources as production runs them. */
export function buildProxy(): void {
  const r = spawnSync("pnpm", ["--filter", "@switchyard/proxy", "build"], { cwd: proxyAppDir, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`building apps/proxy failed (exit ${r.status})`);
}

export async function startSwitchyardProxy(opts: StartProxyOptions): Promise<{ child: ChildProcess; origin: string }> {
  const profile = opts.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", opts.cpuProfDir] : [];
  const entry = opts.entry === "dist" ? ["dist/main.js"] : ["--import", "tsx", "src/main.ts"];
  if (opts.entry === "dist" && !existsSync(path.join(proxyAppDir, "dist/main.js"))) {
    throw new Error("apps/proxy/dist/main.js is missing: run `pnpm --filter @switchyard/proxy build` first");
  }
  const child = spawnNode(opts.pin ?? [], [...profile, ...proxyNodeFlags(), ...(opts.nodeArgs ?? []), ...entry], {
    cwd: proxyAppDir,
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl,
      REDIS_URL: opts.redisUrl,
      SWITCHYARD_ENCRYPTION_KEY: "cd".repeat(32),
      PROXY_PORT: String(opts.port),
      PROXY_HOST: "127.0.0.1",
      PROXY_SPOOL_DIR: await mkdtemp(path.join(tmpdir(), "switchyard-bench-spool-")),
      BENCH_PROVIDER_KEY,
      LOG_LEVEL: opts.logLevel ?? "info",
      NODE_ENV: "production",
      SWITCHYARD_LIMITS_PREFIX: opts.limitsPrefix,
    },
    stdio: ["ignore", process.env.BENCH_PROXY_STDOUT ? "inherit" : "ignore", "inherit"],
  });
  const origin = `http://127.0.0.1:${opts.port}`;
  try {
    await waitForHttp(`${origin}/readyz`, opts.readyTimeoutMs ?? 60_000, child);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return { child, origin };
}

/** Polls `url` until it answers 2xx; fails early if `child` exits meanwhile. */
export async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`the process for ${url} exited with ${child.exitCode}`);
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

/** Sends SIGTERM and waits for the exit (SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * No worker consumes the usage queue during a benchmark: `drainUsageQueue` drops the
 * waiting events (between rows, so Redis does not grow), `cleanupBenchRedis` removes the
 * queue and this run's counters at the end.
 */
export async function drainUsageQueue(redisUrl: string): Promise<void> {
  const redis = createRedisConnection(redisUrl);
  const queue = createQueue("usage", redis);
  try {
    await queue.drain(true);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

export async function cleanupBenchRedis(redisUrl: string, limitsPrefix: string): Promise<void> {
  const redis = createRedisConnection(redisUrl);
  const queue = createQueue("usage", redis);
  try {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await deleteKeysWithPrefix(redis, limitsPrefix);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
