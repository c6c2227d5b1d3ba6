/**
 * Redis CPU per request of the limits scripts: N admitLimits + settleLimits pairs (2 scopes
 * with rpm+tpm, 3 hard budgets, every limit large enough to admit) against a private
 * redis-server started here, ~64 requests in flight on one connection (one proxy replica).
 * Prints Redis CPU µs per request (INFO CPU delta: used_cpu_user + used_cpu_sys), this
 * process's own CPU µs per request (the client side: what the proxy pays), the time
 * Redis measured inside the script calls, the commands per request (INFO commandstats
 * delta; the scripts' inner commands are counted there too) and wall time. Each round runs
 * N pairs; compare the best rounds (other load on the machine only adds).
 *
 * Run: pnpm --filter @switchyard/limits bench [--requests 20000 --concurrency 64 --rounds 5]
 * (needs redis-server on the PATH).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { Redis } from "ioredis";
import { type BudgetRef } from "../src/budget";
import { periodStart } from "../src/period";
import { type RateLimitScope } from "../src/rate-limit";
import { admitLimits, settleLimits } from "../src/request";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}
const REQUESTS = flag("requests", 20_000);
const CONCURRENCY = flag("concurrency", 64);
const ROUNDS = flag("rounds", 5);
const WARMUP = 2_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the server at `port` answers PING (it needs a moment after the spawn). */
async function serverReady(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pong = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.once("data", (d) => {
        sock.destroy();
        resolve(d.toString().startsWith("+PONG"));
      });
      sock.once("error", () => resolve(false));
      sock.once("connect", () => sock.write("PING\r\n"));
    });
    if (pong) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Deterministic amounts, so that runs compare.
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

// 16 keys in 4 teams of one org; each key, team and the org has a hard budget (month, week, day).
const USD = 1_000_000_000n;
const now = new Date();
const org = { id: "org-bench", budget: { id: "budget-org", periodStart: periodStart("day", "UTC", now), limitNanoUsd: 1_000_000n * USD, hard: true } };
const teams = Array.from({ length: 4 }, (_, t) => ({
  id: `team-${t}`,
  budget: { id: `budget-team-${t}`, periodStart: periodStart("week", "Europe/Berlin", now), limitNanoUsd: 500_000n * USD, hard: true },
}));
const keys = Array.from({ length: 16 }, (_, k) => ({
  id: `key-${k}`,
  team: teams[k % 4]!,
  budget: { id: `budget-key-${k}`, periodStart: periodStart("month", "America/New_York", now), limitNanoUsd: 100_000n * USD, hard: true },
}));

// A gpt-4o-like price: $2.50 / M input, $10 / M output, in nano-USD per token.
const IN_NANO = 2_500n;
const OUT_NANO = 10_000n;
const MAX_OUTPUT = 1_000;

let nextRequest = 0;
async function onePair(redis: Redis, prefix: string): Promise<void> {
  const n = nextRequest++;
  const key = keys[n % keys.length]!;
  const scopes: RateLimitScope[] = [
    { scope: "key", id: key.id, rpm: 10_000_000, tpm: 1_000_000_000 },
    { scope: "team", id: key.team.id, rpm: 10_000_000, tpm: 1_000_000_000 },
  ];
  const budgets: BudgetRef[] = [key.budget, key.team.budget, org.budget];
  const estimatedTokens = between(200, 4_000);
  const amount = BigInt(estimatedTokens) * IN_NANO + BigInt(MAX_OUTPUT) * OUT_NANO;
  const admitted = await admitLimits(redis, { scopes, estimatedTokens, budgets, amountNanoUsd: amount, reservationId: `req-${n}` }, { prefix });
  if (!admitted.rate.allowed || admitted.reservation?.ok !== true) throw new Error(`request ${n} was refused; the bench's limits are meant to admit everything`);
  const inputTokens = estimatedTokens + between(-20, 20);
  const outputTokens = between(1, MAX_OUTPUT);
  const actual = BigInt(inputTokens) * IN_NANO + BigInt(outputTokens) * OUT_NANO;
  const { reservationId, budgets: targets } = admitted.reservation;
  const settled = await settleLimits(
    redis,
    { reservation: { reservationId, budgets: targets }, actualNanoUsd: actual, tpmScopes: scopes, tokenDelta: inputTokens + outputTokens - estimatedTokens },
    { prefix },
  );
  if (!settled) throw new Error(`request ${n} did not settle`);
}

async function run(redis: Redis, prefix: string, total: number): Promise<void> {
  let left = total;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left > 0) {
        left--;
        await onePair(redis, prefix);
      }
    }),
  );
}

/** INFO section as name → value. */
async function info(redis: Redis, section: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await redis.info(section)).split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

async function cpuSeconds(redis: Redis): Promise<number> {
  const cpu = await info(redis, "cpu");
  return Number(cpu.get("used_cpu_user")) + Number(cpu.get("used_cpu_sys"));
}

/** cmdstat_<name> → { calls, usec }. */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const [k, v] of await info(redis, "commandstats")) {
    const calls = /calls=(\d+)/.exec(v);
    const usec = /usec=(\d+)/.exec(v);
    out.set(k.replace(/^cmdstat_/, ""), { calls: Number(calls?.[1] ?? 0), usec: Number(usec?.[1] ?? 0) });
  }
  return out;
}

// Commands of the measurement itself, not of the scripts.
const HARNESS = new Set(["info", "config|resetstat", "ping", "script|load", "eval", "evalsha"]);

interface Round {
  redisCpuUsPerRequest: number;
  clientCpuUsPerRequest: number;
  scriptUsPerRequest: number;
  commandsPerRequest: number;
  byCommand: Record<string, number>;
  scriptCallsPerRequest: number;
  wallMs: number;
}

async function measure(redis: Redis, prefix: string): Promise<Round> {
  await redis.config("RESETSTAT");
  const cpu0 = await cpuSeconds(redis);
  const t0 = performance.now();
  const client0 = process.cpuUsage();
  await run(redis, prefix, REQUESTS);
  const client = process.cpuUsage(client0);
  const wallMs = performance.now() - t0;
  const cpu1 = await cpuSeconds(redis);
  const stats = await commandStats(redis);
  const byCommand: Record<string, number> = {};
  let commands = 0;
  for (const [name, s] of [...stats].sort((a, b) => b[1].calls - a[1].calls)) {
    if (HARNESS.has(name)) continue;
    byCommand[name] = +(s.calls / REQUESTS).toFixed(2);
    commands += s.calls;
  }
  const scripts = (stats.get("evalsha")?.calls ?? 0) + (stats.get("eval")?.calls ?? 0);
  const scriptUsec = (stats.get("evalsha")?.usec ?? 0) + (stats.get("eval")?.usec ?? 0);
  return {
    redisCpuUsPerRequest: +(((cpu1 - cpu0) * 1e6) / REQUESTS).toFixed(1),
    clientCpuUsPerRequest: +((client.user + client.system) / REQUESTS).toFixed(1),
    scriptUsPerRequest: +(scriptUsec / REQUESTS).toFixed(1),
    commandsPerRequest: +(commands / REQUESTS).toFixed(2),
    byCommand,
    scriptCallsPerRequest: +(scripts / REQUESTS).toFixed(3),
    wallMs: Math.round(wallMs),
  };
}

const port = await freePort();
const server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
const exited = once(server, "exit");
const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true });
try {
  await serverReady(port);
  await redis.connect();
  const prefix = "bench:";
  await run(redis, prefix, WARMUP); // loads the scripts, creates the keys
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const round = await measure(redis, prefix);
    rounds.push(round);
    console.log(
      `round ${r + 1}: ${round.redisCpuUsPerRequest} µs Redis CPU/request (scripts ${round.scriptUsPerRequest} µs), ${round.clientCpuUsPerRequest} µs client CPU/request, ` +
        `${round.commandsPerRequest} commands/request in ${round.scriptCallsPerRequest} script calls, ${REQUESTS} requests in ${round.wallMs} ms`,
    );
  }
  // Other work on the machine only ever adds CPU time: the best round is the steadiest number, the median the typical one.
  const sorted = [...rounds].sort((a, b) => a.redisCpuUsPerRequest - b.redisCpuUsPerRequest);
  const best = sorted[0]!;
  const median = sorted[Math.floor(rounds.length / 2)]!;
  console.log(`commands per request: ${Object.entries(best.byCommand).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  const clientCpu = rounds.map((r) => r.clientCpuUsPerRequest).sort((a, b) => a - b);
  console.log(
    JSON.stringify({ requests: REQUESTS, concurrency: CONCURRENCY, best, medianRedisCpuUsPerRequest: median.redisCpuUsPerRequest, bestClientCpuUsPerRequest: clientCpu[0], medianClientCpuUsPerRequest: clientCpu[Math.floor(clientCpu.length / 2)] }),
  );
} finally {
  redis.disconnect();
  server.kill("SIGTERM");
  await exited;
}
