/**
 * The performance suite (issue 7): one run measures every row on the same machine, with the
 * rows interleaved (each scenario runs direct, floor, switchyard back to back, `--rounds`
 * times) and processes pinned to cores, and prints the medians and the ratios the targets
 * are written in.
 *   pnpm bench [--rounds 3] [--duration 5] [--warmup 1] [--latency-ms 0] [--token-interval-ms 0]
 *              [--soak <minutes>] [--portkey [--portkey-dir DIR]] [--no-pin] [--json] [--smoke]
 *              [--rows direct,floor,switchyard] [--scenarios "json c=64,sse c=16"] [--profile DIR]
 *              [--src] [--no-build] [--no-limits]
 * Uses its own database (switchyard_bench_suite) and Redis DB 1 with a prefix of its own.
 */
import { type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createPrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { computeFigures, median, type Figure, type FigureName } from "./figures";
import { type LoadResult } from "./load";
import { benchDir, choosePinning, pinPrefix, readCpuMs, readRssMb, runScriptForJson, spawnNode, startServerScript, type Pinning } from "./procs";
import { BENCH_PROVIDER_KEY, buildProxy, cleanupBenchRedis, drainUsageQueue, seedBenchTenant, startSwitchyardProxy, stopChild } from "./switchyard";

export type RowName = "direct" | "floor" | "switchyard" | "portkey";

export interface Scenario {
  name: string;
  stream: boolean;
  connections: number;
  /** What the scenario is for (printed). */
  measures: string;
}

export const scenarios: Scenario[] = [
  { name: "json c=1", stream: false, connections: 1, measures: "latency" },
  { name: "json c=64", stream: false, connections: 64, measures: "throughput" },
  { name: "sse c=16", stream: true, connections: 16, measures: "throughput, TTFB under load" },
  { name: "sse c=1", stream: true, connections: 1, measures: "TTFB" },
];

export interface BenchOptions {
  rounds?: number;
  /** Per row and round: measure for this long (ms) after `warmupMs`... */
  durationMs?: number;
  warmupMs?: number;
  /** ...or this many requests after `warmupCount` (the smoke). */
  count?: number;
  warmupCount?: number;
  /**
   * Before the first round, each proxy row serves this long (ms) of json c=64 and then of
   * sse c=16, unmeasured (default 5000): V8 optimises a proxy's hot code over its first
   * ~30,000 requests, and a row measured before that (json c=1 first, at a few hundred
   * requests a second) measures the interpreter, not the proxy. With `count`, the prime
   * is `primeCount` requests per scenario instead.
   */
  primeMs?: number;
  primeCount?: number;
  latencyMs?: number;
  tokenIntervalMs?: number;
  /** Minutes of json c=64 through Switchyard after the rounds, RSS sampled every 10 s. */
  soakMinutes?: number;
  portkey?: boolean;
  /** Where @portkey-ai/gateway is installed (a directory holding node_modules). */
  portkeyDir?: string;
  pin?: boolean;
  databaseName?: string;
  redisUrl?: string;
  /** Run the proxy from apps/proxy/dist (built first unless `build: false`) or src via tsx. Default "dist". */
  entry?: "dist" | "src";
  build?: boolean;
  /** Only these rows / scenarios (by name); default all. */
  rows?: RowName[];
  scenarioNames?: string[];
  /** Seed the Switchyard tenant with rate limits and budgets (default true; false attributes their cost). */
  limits?: boolean;
  /** Write a V8 CPU profile of the Switchyard proxy into this directory (node --cpu-prof). */
  profileDir?: string;
  /** Extra node flags for the Switchyard proxy (e.g. V8 heap flags, to try them). */
  proxyNodeArgs?: string[];
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** Medians over the rounds (requests and errors are totals). */
export interface RowReport extends LoadResult {
  /** CPU time of the serving process (upstream for direct) per request, ms. */
  cpuMsPerRequest: number | null;
  /** Largest RSS of the proxy process seen during the row, MB (null for direct). */
  rssMb: number | null;
}

export interface ScenarioReport {
  scenario: Scenario;
  rows: Partial<Record<RowName, RowReport>>;
}

/**
 * Switchyard against the floor and Portkey (issue 7's targets). Each paired figure is the
 * median of the rounds' own values (see figures.ts); `figures` has each round's value and
 * the same figure from the table's medians.
 */
export interface Ratios {
  /** switchyard req/s ÷ floor req/s. */
  throughputJson64: number | null;
  throughputSse16: number | null;
  /** switchyard − floor, ms, json c=1. */
  addedP50: number | null;
  addedP99: number | null;
  /** switchyard − floor TTFB p50, ms. */
  addedTtfbSse1: number | null;
  addedTtfbSse16: number | null;
  /** switchyard req/s ÷ portkey req/s, json c=64. */
  vsPortkeyJson64: number | null;
  figures: Record<FigureName, Figure>;
  switchyardRssMb: number | null;
  floorRssMb: number | null;
  totalErrors: number;
}

export interface SoakReport {
  minutes: number;
  requests: number;
  errors: number;
  rps: number;
  /** [seconds since start, RSS MB] every 10 s. */
  rssSamples: [number, number][];
}

export interface BenchReport {
  node: string;
  cores: number;
  pinning: Pinning | null;
  rounds: number;
  perRow: string;
  upstream: { latencyMs: number; tokenIntervalMs: number };
  /** What each proxy row served before the first round (unmeasured), errors included. */
  prime: { row: RowName; requests: number; errors: number }[];
  /** Rows that were asked for and skipped, with why. */
  skipped: string[];
  scenarios: ScenarioReport[];
  ratios: Ratios;
  soak: SoakReport | null;
}

interface Target {
  row: RowName;
  origin: string;
  headers: Record<string, string>;
  /** The process whose RSS and CPU the row reports. */
  pid: number | undefined;
  isProxy: boolean;
}

const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];

/**
 * Starts Portkey's gateway if it is installed: an optional dev install, never a dependency
 * (see README), looked up in `dir`/node_modules, then bench's and the repo's node_modules.
 */
async function startPortkey(pin: string[], dir: string | undefined): Promise<{ child: ChildProcess; origin: string } | string> {
  const entry = [dir, benchDir, path.resolve(benchDir, "..")]
    .filter((d): d is string => d !== undefined)
    .map((d) => path.join(d, "node_modules/@portkey-ai/gateway/build/start-server.js"))
    .find((p) => existsSync(p));
  if (!entry) return "portkey: @portkey-ai/gateway is not installed (see bench/README.md)";
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawnNode(pin, [entry, `--port=${port}`], { stdio: ["ignore", "ignore", "inherit"] });
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return `portkey: exited with ${child.exitCode}`;
    try {
      await fetch(origin);
      return { child, origin };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  child.kill("SIGKILL");
  return "portkey: did not come up";
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rounds = opts.rounds ?? 3;
  const redisUrl = opts.redisUrl ?? "redis://127.0.0.1:6379/1";
  const limitsPrefix = `bench-suite:${process.pid}:${Date.now()}:`;
  const pinning = choosePinning(opts.pin ?? true);
  const latencyMs = opts.latencyMs ?? 0;
  const tokenIntervalMs = opts.tokenIntervalMs ?? 0;
  const children: ChildProcess[] = [];
  const skipped: string[] = [];

  const onSignal = () => {
    for (const c of children) c.kill("SIGKILL");
    process.exit(130);
  };
  process.once("SIGINT", onSignal);

  try {
    const upstream = await startServerScript(
      "upstream.ts",
      ["--latency-ms", String(latencyMs), "--token-interval-ms", String(tokenIntervalMs)],
      pinPrefix(pinning?.upstream),
    );
    children.push(upstream.child);
    const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;
    const floor = await startServerScript("floor.mjs", ["--upstream", upstreamOrigin], pinPrefix(pinning?.proxy));
    children.push(floor.child);

    const databaseUrl = await prepareTestDatabase(opts.databaseName ?? "switchyard_bench_suite");
    const prisma = createPrismaClient(databaseUrl);
    await truncateAll(prisma);
    const tenant = await seedBenchTenant(prisma, { upstreamUrl: `${upstreamOrigin}/v1`, limits: opts.limits ?? true });
    await prisma.$disconnect();
    const proxyPort = 20_000 + Math.floor(Math.random() * 20_000);
    const entry = opts.entry ?? "dist";
    if (entry === "dist" && opts.build !== false) buildProxy();
    const proxy = await startSwitchyardProxy({
      databaseUrl,
      redisUrl,
      limitsPrefix,
      port: proxyPort,
      pin: pinPrefix(pinning?.proxy),
      logLevel: "warn",
      entry,
      ...(opts.profileDir ? { cpuProfDir: opts.profileDir } : {}),
      ...(opts.proxyNodeArgs ? { nodeArgs: opts.proxyNodeArgs } : {}),
    });
    children.push(proxy.child);

    const allTargets: Target[] = [
      { row: "direct", origin: upstreamOrigin, headers: { authorization: `Bearer ${BENCH_PROVIDER_KEY}` }, pid: upstream.child.pid, isProxy: false },
      { row: "floor", origin: `http://127.0.0.1:${floor.port}`, headers: { authorization: `Bearer ${BENCH_PROVIDER_KEY}` }, pid: floor.child.pid, isProxy: true },
      { row: "switchyard", origin: proxy.origin, headers: { authorization: `Bearer ${tenant.key}` }, pid: proxy.child.pid, isProxy: true },
    ];
    const targets = allTargets.filter((t) => !opts.rows || opts.rows.includes(t.row));
    const chosenScenarios = scenarios.filter((s) => !opts.scenarioNames || opts.scenarioNames.includes(s.name));
    if (opts.portkey) {
      const portkey = await startPortkey(pinPrefix(pinning?.proxy), opts.portkeyDir);
      if (typeof portkey === "string") skipped.push(portkey);
      else {
        children.push(portkey.child);
        targets.push({
          row: "portkey",
          origin: portkey.origin,
          headers: {
            authorization: `Bearer ${BENCH_PROVIDER_KEY}`,
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": `${upstreamOrigin}/v1`,
          },
          pid: portkey.child.pid,
          isProxy: true,
        });
      }
    }

    const loadArgs = (scenario: Scenario, target: Target): string[] => {
      const body = JSON.stringify({ model: "gpt-4o-mini", messages, ...(scenario.stream ? { stream: true } : {}) });
      const args = ["--origin", target.origin, "--body", body, "--connections", String(scenario.connections)];
      for (const [k, v] of Object.entries(target.headers)) args.push("--header", `${k}: ${v}`);
      if (scenario.stream) args.push("--stream");
      return args;
    };

    const measure = async (scenario: Scenario, target: Target, extra?: { durationMs: number; sampleEveryMs: number; onSample: (rss: number) => void }) => {
      const args = loadArgs(scenario, target);
      if (extra) args.push("--duration-ms", String(extra.durationMs));
      else if (opts.count !== undefined) args.push("--count", String(opts.count), "--warmup-count", String(opts.warmupCount ?? 0));
      else args.push("--duration-ms", String(opts.durationMs ?? 5000), "--warmup-ms", String(opts.warmupMs ?? 1000));

      const pid = target.pid;
      let rssMax: number | null = null;
      const sample = async () => {
        if (!target.isProxy || pid === undefined) return;
        const rss = await readRssMb(pid);
        if (rss !== null) {
          rssMax = Math.max(rssMax ?? 0, rss);
          extra?.onSample(rss);
        }
      };
      const cpuBefore = pid === undefined ? null : await readCpuMs(pid);
      const sampler = setInterval(() => void sample(), extra?.sampleEveryMs ?? 1000);
      let result: LoadResult;
      try {
        result = await runScriptForJson<LoadResult>("load.ts", args, pinPrefix(pinning?.load));
      } finally {
        clearInterval(sampler);
      }
      await sample();
      const cpuAfter = pid === undefined ? null : await readCpuMs(pid);
      // The CPU counters cover warm-up and measurement, so divide by the requests of both.
      const served = result.requests + result.warmupRequests;
      const cpuMsPerRequest = cpuBefore !== null && cpuAfter !== null && served > 0 ? (cpuAfter - cpuBefore) / served : null;
      if (target.row === "switchyard") await drainUsageQueue(redisUrl);
      return { result, rssMb: rssMax as number | null, cpuMsPerRequest };
    };

    // Every proxy warmed alike before anything is measured (see BenchOptions.primeMs).
    const prime: BenchReport["prime"] = [];
    const primeScenarios = scenarios.filter((s) => s.name === "json c=64" || s.name === "sse c=16");
    // As long as the rows: requests in count mode (the smoke), else milliseconds.
    const primeAmount = opts.count !== undefined ? (opts.primeCount ?? 0) : (opts.primeMs ?? 5000);
    const primeArgs = opts.count !== undefined ? ["--count", String(primeAmount), "--warmup-count", "0"] : ["--duration-ms", String(primeAmount), "--warmup-ms", "0"];
    for (const target of primeAmount > 0 ? targets.filter((t) => t.isProxy) : []) {
      let requests = 0;
      let errors = 0;
      for (const scenario of primeScenarios) {
        const result = await runScriptForJson<LoadResult>("load.ts", [...loadArgs(scenario, target), ...primeArgs], pinPrefix(pinning?.load));
        requests += result.requests + result.warmupRequests;
        errors += result.errors;
        if (target.row === "switchyard") await drainUsageQueue(redisUrl);
      }
      prime.push({ row: target.row, requests, errors });
      log(`prime ${target.row.padEnd(10)} ${requests} requests (json c=64, sse c=16), errors ${errors}`);
    }

    const perRound = new Map<string, { result: LoadResult; rssMb: number | null; cpuMsPerRequest: number | null }[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const scenario of chosenScenarios) {
        for (const target of targets) {
          const m = await measure(scenario, target);
          const key = `${scenario.name}|${target.row}`;
          perRound.set(key, [...(perRound.get(key) ?? []), m]);
          log(
            `round ${round}/${rounds} ${scenario.name.padEnd(9)} ${target.row.padEnd(10)} ${m.result.rps.toFixed(0).padStart(6)} req/s  p50 ${m.result.p50.toFixed(2)} ms  ttfb ${m.result.ttfbP50.toFixed(2)} ms  errors ${m.result.errors}`,
          );
        }
      }
    }

    const scenarioReports: ScenarioReport[] = chosenScenarios.map((scenario) => {
      const rows: Partial<Record<RowName, RowReport>> = {};
      for (const target of targets) {
        const ms = perRound.get(`${scenario.name}|${target.row}`) ?? [];
        const pick = (f: (r: LoadResult) => number) => median(ms.map((m) => f(m.result))) ?? 0;
        const cpus = ms.map((m) => m.cpuMsPerRequest).filter((c): c is number => c !== null);
        const rsses = ms.map((m) => m.rssMb).filter((c): c is number => c !== null);
        rows[target.row] = {
          requests: ms.reduce((a, m) => a + m.result.requests, 0),
          warmupRequests: ms.reduce((a, m) => a + m.result.warmupRequests, 0),
          errors: ms.reduce((a, m) => a + m.result.errors, 0),
          errorSamples: ms.flatMap((m) => m.result.errorSamples).slice(0, 5),
          elapsedMs: pick((r) => r.elapsedMs),
          rps: pick((r) => r.rps),
          p50: pick((r) => r.p50),
          p99: pick((r) => r.p99),
          mean: pick((r) => r.mean),
          ttfbP50: pick((r) => r.ttfbP50),
          ttfbP99: pick((r) => r.ttfbP99),
          cpuMsPerRequest: median(cpus),
          rssMb: rsses.length ? Math.max(...rsses) : null,
        };
      }
      return { scenario, rows };
    });

    let soak: SoakReport | null = null;
    if (opts.soakMinutes && opts.soakMinutes > 0) {
      const target = targets.find((t) => t.row === "switchyard");
      const scenario = scenarios.find((s) => s.name === "json c=64");
      if (target && scenario) {
        log(`soak: ${opts.soakMinutes} min of ${scenario.name} through switchyard, RSS every 10 s`);
        const started = Date.now();
        const rssSamples: [number, number][] = [];
        // No worker consumes usage events during the bench: drop them as they come so Redis stays small.
        const drainer = setInterval(() => void drainUsageQueue(redisUrl).catch(() => undefined), 10_000);
        try {
          const m = await measure(scenario, target, {
            durationMs: opts.soakMinutes * 60_000,
            sampleEveryMs: 10_000,
            onSample: (rss) => {
              rssSamples.push([Math.round((Date.now() - started) / 1000), rss]);
              log(`soak: ${Math.round((Date.now() - started) / 1000)} s RSS ${rss.toFixed(1)} MB`);
            },
          });
          soak = { minutes: opts.soakMinutes, requests: m.result.requests, errors: m.result.errors, rps: m.result.rps, rssSamples };
        } finally {
          clearInterval(drainer);
        }
      }
    }

    const rssOf = (r: RowName) => {
      const values = scenarioReports.map((x) => x.rows[r]?.rssMb).filter((v): v is number => typeof v === "number");
      return values.length ? Math.max(...values, ...(r === "switchyard" && soak ? soak.rssSamples.map((s) => s[1]) : [])) : null;
    };
    const figures = computeFigures(new Map([...perRound].map(([key, ms]) => [key, ms.map((m) => m.result)])));
    const ratios: Ratios = {
      throughputJson64: figures.throughputJson64.value,
      throughputSse16: figures.throughputSse16.value,
      addedP50: figures.addedP50.value,
      addedP99: figures.addedP99.value,
      addedTtfbSse1: figures.addedTtfbSse1.value,
      addedTtfbSse16: figures.addedTtfbSse16.value,
      vsPortkeyJson64: figures.vsPortkeyJson64.value,
      figures,
      switchyardRssMb: rssOf("switchyard"),
      floorRssMb: rssOf("floor"),
      totalErrors:
        scenarioReports.reduce((a, s) => a + Object.values(s.rows).reduce((b, r) => b + r.errors, 0), 0) +
        (soak?.errors ?? 0) +
        prime.reduce((a, p) => a + p.errors, 0),
    };

    return {
      node: process.version,
      cores: availableParallelism(),
      pinning,
      rounds,
      perRow: opts.count !== undefined ? `${opts.count} requests after ${opts.warmupCount ?? 0} warm-up` : `${(opts.durationMs ?? 5000) / 1000} s after ${(opts.warmupMs ?? 1000) / 1000} s warm-up`,
      upstream: { latencyMs, tokenIntervalMs },
      prime,
      skipped,
      scenarios: scenarioReports,
      ratios,
      soak,
    };
  } finally {
    process.removeListener("SIGINT", onSignal);
    await Promise.all(children.reverse().map((c) => stopChild(c)));
    await cleanupBenchRedis(redisUrl, limitsPrefix).catch(() => undefined);
  }
}

const f2 = (n: number | null | undefined, unit = "") => (n === null || n === undefined ? "n/a" : `${n.toFixed(2)}${unit}`);
const signed = (n: number | null, unit = " ms") => (n === null ? "n/a" : `${n >= 0 ? "+" : ""}${n.toFixed(2)}${unit}`);

/** The table of medians and the ratios, as printed by `pnpm bench`. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const pin = r.pinning ? `proxies on core ${r.pinning.proxy}, load on core ${r.pinning.load}, upstream on core ${r.pinning.upstream}` : "not pinned";
  out.push(
    `Node ${r.node}, ${r.cores} cores, ${pin}; ${r.rounds} round(s), rows interleaved, ${r.perRow} per row; upstream latency ${r.upstream.latencyMs} ms, token interval ${r.upstream.tokenIntervalMs} ms`,
    "Medians over the rounds (errors and requests are totals). cpu = CPU ms of the serving process per request; rss = largest proxy RSS.",
  );
  if (r.prime.length > 0) out.push(`Primed before round 1 (json c=64, then sse c=16; unmeasured): ${r.prime.map((p) => `${p.row} ${p.requests} requests, ${p.errors} errors`).join("; ")}`);
  out.push("");
  const head = ["scenario", "row", "req/s", "p50 ms", "p99 ms", "ttfb p50", "ttfb p99", "cpu/req", "rss MB", "requests", "errors"];
  const widths = [10, 11, 8, 8, 8, 9, 9, 8, 7, 9, 7];
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 8) : c.padStart(widths[i] ?? 8))).join(" ");
  out.push(line(head));
  for (const s of r.scenarios) {
    for (const [name, row] of Object.entries(s.rows)) {
      out.push(
        line([
          s.scenario.name,
          name,
          row.rps.toFixed(0),
          row.p50.toFixed(2),
          row.p99.toFixed(2),
          s.scenario.stream ? row.ttfbP50.toFixed(2) : "",
          s.scenario.stream ? row.ttfbP99.toFixed(2) : "",
          f2(row.cpuMsPerRequest),
          row.rssMb === null ? "" : row.rssMb.toFixed(0),
          String(row.requests),
          String(row.errors),
        ]),
      );
    }
  }
  const q = r.ratios;
  const mark = (ok: boolean | null) => (ok === null ? "" : ok ? "  [met]" : "  [NOT met]");
  const atLeast = (v: number | null, t: number) => (v === null ? null : v >= t);
  const atMost = (v: number | null, t: number) => (v === null ? null : v <= t);
  // Each round's value, and the figure from the table's medians, after the rounds' median.
  const rounds = (name: FigureName, fmt: (n: number | null) => string) => {
    const f = q.figures[name];
    return f.rounds.length > 1 ? ` (rounds ${f.rounds.map(fmt).join(", ")}; from the medians ${fmt(f.ofMedians)})` : "";
  };
  const x = (n: number | null) => f2(n, "x");
  const ms = (n: number | null) => signed(n);
  out.push(
    "",
    "Switchyard against the floor (issue 7 targets; not asserted anywhere). Each figure is the median of the rounds' own",
    "values (a round measures the rows back to back); in brackets each round's, and the figure from the table's medians.",
    `  throughput json c=64   ${x(q.throughputJson64)} of floor${rounds("throughputJson64", x)} (target >= 0.60x)${mark(atLeast(q.throughputJson64, 0.6))}`,
    `  throughput sse c=16    ${x(q.throughputSse16)} of floor${rounds("throughputSse16", x)} (target >= 0.60x)${mark(atLeast(q.throughputSse16, 0.6))}`,
    `  added latency json c=1 p50 ${ms(q.addedP50)}${rounds("addedP50", ms)} (target <= +0.30 ms)${mark(atMost(q.addedP50, 0.3))}`,
    `                         p99 ${ms(q.addedP99)}${rounds("addedP99", ms)} (target <= +3 ms)${mark(atMost(q.addedP99, 3))}`,
    `  added TTFB p50 sse c=1 ${ms(q.addedTtfbSse1)}${rounds("addedTtfbSse1", ms)} (target <= +0.30 ms)${mark(atMost(q.addedTtfbSse1, 0.3))}`,
    `                sse c=16 ${ms(q.addedTtfbSse16)}${rounds("addedTtfbSse16", ms)}`,
    `  RSS                    switchyard ${f2(q.switchyardRssMb, " MB")} (target <= 150 MB)${mark(atMost(q.switchyardRssMb, 150))}, floor ${f2(q.floorRssMb, " MB")}`,
    `  vs portkey json c=64   ${q.vsPortkeyJson64 === null ? "n/a (no portkey row)" : `${x(q.vsPortkeyJson64)}${rounds("vsPortkeyJson64", x)} (target >= 6x)${mark(atLeast(q.vsPortkeyJson64, 6))}`}`,
    `  errors                 ${q.totalErrors}${mark(q.totalErrors === 0)}`,
  );
  for (const s of r.skipped) out.push(`  skipped: ${s}`);
  if (r.soak) {
    const rss = r.soak.rssSamples.map((s) => s[1]);
    const after1 = r.soak.rssSamples.filter((s) => s[0] >= 60).map((s) => s[1]);
    out.push(
      "",
      `Soak: ${r.soak.minutes} min json c=64 through switchyard: ${r.soak.rps.toFixed(0)} req/s, ${r.soak.requests} requests, ${r.soak.errors} errors`,
      `  RSS MB first ${f2(rss[0])}, last ${f2(rss.at(-1))}, max ${f2(rss.length ? Math.max(...rss) : null)}; after the first minute min ${f2(after1.length ? Math.min(...after1) : null)} max ${f2(after1.length ? Math.max(...after1) : null)}`,
      `  samples: ${r.soak.rssSamples.map(([t, m]) => `${t}s=${m.toFixed(0)}`).join(" ")}`,
    );
  }
  return out.join("\n");
}

async function main(): Promise<void> {
  // `pnpm bench -- --soak 10` hands the script a leading "--": both forms work.
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv[0] === "--" ? argv.slice(1) : argv,
    options: {
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      prime: { type: "string", default: "5" },
      "latency-ms": { type: "string", default: "0" },
      "token-interval-ms": { type: "string", default: "0" },
      soak: { type: "string" },
      portkey: { type: "boolean", default: false },
      "portkey-dir": { type: "string" },
      "no-pin": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      src: { type: "boolean", default: false },
      "no-build": { type: "boolean", default: false },
      rows: { type: "string" },
      scenarios: { type: "string" },
      "node-args": { type: "string" },
      profile: { type: "string" },
      "no-limits": { type: "boolean", default: false },
    },
  });
  const list = (v: string | undefined) => (v === undefined ? undefined : v.split(",").map((x) => x.trim()));
  const report = await runBench({
    rounds: values.smoke ? 1 : Number(values.rounds),
    durationMs: Number(values.duration) * 1000,
    warmupMs: Number(values.warmup) * 1000,
    primeMs: Number(values.prime) * 1000,
    ...(values.smoke ? { count: 150, warmupCount: 20, primeCount: 50 } : {}),
    latencyMs: Number(values["latency-ms"]),
    tokenIntervalMs: Number(values["token-interval-ms"]),
    soakMinutes: values.soak ? Number(values.soak) : 0,
    portkey: values.portkey,
    portkeyDir: values["portkey-dir"],
    pin: !values["no-pin"],
    entry: values.src ? "src" : "dist",
    build: !values["no-build"],
    limits: !values["no-limits"],
    rows: list(values.rows) as RowName[] | undefined,
    scenarioNames: list(values.scenarios),
    ...(values.profile ? { profileDir: path.resolve(values.profile) } : {}),
    ...(values["node-args"] ? { proxyNodeArgs: values["node-args"].split(/\s+/).filter(Boolean) } : {}),
    // Another Redis (or DB) than the default redis://127.0.0.1:6379/1, e.g. to run beside the proxy's tests, which use DB 1 too.
    ...(process.env.BENCH_REDIS_URL ? { redisUrl: process.env.BENCH_REDIS_URL } : {}),
  });
  if (values.profile) process.stderr.write(`CPU profile of the Switchyard proxy written to ${path.resolve(values.profile)}\n`);
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
