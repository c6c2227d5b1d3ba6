/**
 * Instructions per request: the proxy's CPU work counted by valgrind (callgrind), not timed.
 * On a shared VM the timed numbers of `pnpm bench` move by ±30 % from one minute to the
 * next; an instruction count is the same for the same build, inputs and environment,
 * whatever the neighbours do, so it tells two builds apart where timing cannot (an A/B of
 * a change worth 5 %). It counts user-space work only (every thread of the process: the
 * event loop, V8's GC helpers, libuv's pool), not the kernel's share of each syscall.
 *
 *   pnpm --filter @switchyard/bench instructions [--scenarios "json c=16,sse c=16"]
 *        [--count 2000] [--warmup 30000] [--no-limits] [--floor] [--out DIR] [--names N]
 *
 * Runs the Switchyard proxy (apps/proxy/dist, as built) under callgrind with instrumentation
 * off, warms it up, then counts --count requests per scenario and prints instructions per
 * request (millions). With --floor the floor proxy (src/floor.mjs) is counted the same way,
 * for the ratio. --out keeps the dumps (one per scenario and process; with --names also node's
 * perf map, perf-<pid>.map, to name JIT addresses in them) for
 * `callgrind_annotate`: V8's own functions (GC, builtins, runtime) by name, JIT-compiled
 * JavaScript as addresses. --names N also prints the N costliest JIT-compiled functions
 * (JavaScript and regular expressions) by name, from the map node writes with
 * --perf-basic-prof. Needs valgrind (Debian: valgrind) and what `pnpm bench` needs.
 * Takes ~2.5 min per scenario and process here: V8 keeps optimising for ~30,000 requests
 * (natively too: compilations fade out ~20 s into a json c=64 run), and valgrind runs
 * them 5–50× slower.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createPrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { type LoadResult } from "./load";
import { benchDir, runScriptForJson, startServerScript } from "./procs";
import { BENCH_PROVIDER_KEY, cleanupBenchRedis, drainUsageQueue, seedBenchTenant, startSwitchyardProxy, stopChild } from "./switchyard";

const { values } = parseArgs({
  options: {
    scenarios: { type: "string", default: "json c=16,sse c=16" },
    count: { type: "string", default: "2000" },
    warmup: { type: "string", default: "30000" },
    "no-limits": { type: "boolean", default: false },
    floor: { type: "boolean", default: false },
    out: { type: "string" },
    names: { type: "string", default: "0" },
  },
  // `pnpm … instructions -- --count 400` passes the "--" on.
  args: process.argv.slice(2).filter((a) => a !== "--"),
});

const count = Number(values.count);
const warmup = Number(values.warmup);
const chosen = values.scenarios.split(",").map((s) => {
  const m = /^(json|sse) c=(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`--scenarios: "${s}" is not "json c=N" or "sse c=N"`);
  return { name: s.trim(), stream: m[1] === "sse", connections: Number(m[2]) };
});
const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/1";
const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];

if (spawnSync("valgrind", ["--version"], { stdio: "ignore" }).status !== 0) {
  throw new Error("valgrind is not installed (Debian: apt-get install valgrind)");
}

/** callgrind, counting nothing until `callgrind_control -i on`; one dump file per `-d`. */
function callgrindPrefix(outDir: string): string[] {
  return [
    "valgrind",
    "--tool=callgrind",
    // V8 writes machine code at run time: without this, valgrind may run stale translations.
    "--smc-check=all-non-file",
    // Not even instrumented until `callgrind_control -i on`: the boot runs at near full speed.
    "--instr-atstart=no",
    `--callgrind-out-file=${path.join(outDir, "callgrind.out.%p")}`,
  ];
}

/**
 * V8 optimises hot functions on a background thread, and under valgrind that thread lags
 * far behind: thousands of requests after the warm-up, ~20 % of what was counted was still
 * TurboFan compiling. Compiled on the main thread, a function is optimised when it gets
 * hot, so the warm-up leaves the code as a long-running process has it. The code V8
 * produces is the same either way.
 */
const NODE_FLAGS = ["--no-concurrent-recompilation", ...(Number(values.names) > 0 ? ["--perf-basic-prof"] : [])];

function control(args: string[], pid: number): void {
  const r = spawnSync("callgrind_control", [...args, String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
}

/** The total instructions (Ir) of the newest dump in `outDir`, and that dump's path. */
async function lastDump(outDir: string, pid: number, before: Set<string>): Promise<{ total: number; file: string }> {
  for (let i = 0; i < 100; i++) {
    const files = (await readdir(outDir)).filter((f) => f.startsWith(`callgrind.out.${pid}.`) && !before.has(f));
    for (const f of files) {
      const text = await readFile(path.join(outDir, f), "utf8");
      const m = /^(?:summary|totals):\s+(\d+)/m.exec(text);
      if (m) return { total: Number(m[1]), file: path.join(outDir, f) };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("callgrind wrote no dump");
}

/** Instructions spent in TurboFan (inclusive) in a dump: compiling, not serving. */
function compilerInstructions(file: string): number | null {
  const r = spawnSync("callgrind_annotate", ["--inclusive=yes", "--threshold=100", file], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) return null;
  const m = /^\s*([\d,]+) .*PipelineCompilationJob::ExecuteJobImpl/m.exec(r.stdout);
  return m ? Number(m[1]!.replaceAll(",", "")) : 0;
}

/**
 * The `top` costliest JIT-compiled functions of a dump (self instructions per request), named
 * from V8's perf map (/tmp/perf-<pid>.map, written with --perf-basic-prof). V8 reuses the
 * addresses of code it throws away, so a name is that of the last code placed there: right
 * for functions that stayed hot, which are the ones at the top (compare two runs).
 */
async function jitFunctionNames(file: string, pid: number, top: number): Promise<string[]> {
  const r = spawnSync("callgrind_annotate", ["--inclusive=no", "--threshold=100", file], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const rows = [...r.stdout.matchAll(/^\s*([\d,]+) \([ \d.]+%\)\s+\?\?\?:0x([0-9a-f]+) \[\?\?\?\]/gm)].slice(0, top);
  const map = (await readFile(`/tmp/perf-${pid}.map`, "utf8").catch(() => ""))
    .split("\n")
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ start: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16), name: m[3]! }));
  return rows.map(([, ir, hex]) => {
    const at = parseInt(hex!, 16);
    let name = `0x${hex} (not in the perf map)`;
    for (const e of map) if (at >= e.start && at < e.start + e.size) name = e.name;
    return `  ${(Number(ir!.replaceAll(",", "")) / count / 1000).toFixed(1).padStart(7)}k  ${name.slice(0, 150)}`;
  });
}

async function load(origin: string, headers: Record<string, string>, stream: boolean, connections: number, n: number): Promise<LoadResult> {
  const body = JSON.stringify({ model: "gpt-4o-mini", messages, ...(stream ? { stream: true } : {}) });
  const args = ["--origin", origin, "--body", body, "--connections", String(connections), "--count", String(n), "--warmup-count", "0"];
  for (const [k, v] of Object.entries(headers)) args.push("--header", `${k}: ${v}`);
  if (stream) args.push("--stream");
  const result = await runScriptForJson<LoadResult>("load.ts", args, []);
  if (result.errors > 0) throw new Error(`${result.errors} failed requests: ${result.errorSamples.join("; ")}`);
  return result;
}

/** Counts `count` requests of each scenario against a process running under callgrind. */
async function countTarget(label: string, child: ChildProcess, origin: string, headers: Record<string, string>, outDir: string, afterEach?: () => Promise<void>): Promise<void> {
  const pid = child.pid!;
  for (const s of chosen) {
    await load(origin, headers, s.stream, s.connections, warmup);
    await afterEach?.();
    const before = new Set(await readdir(outDir));
    control(["-i", "on"], pid);
    control(["-z"], pid);
    await load(origin, headers, s.stream, s.connections, count);
    // Let what each request leaves for later (settles, the usage batch) run inside the count.
    await new Promise((r) => setTimeout(r, 500));
    control(["-d"], pid);
    control(["-i", "off"], pid);
    const { total, file } = await lastDump(outDir, pid, before);
    await afterEach?.();
    // What was spent optimising code is warm-up that came late, not the cost of serving: left out.
    const compiling = compilerInstructions(file) ?? 0;
    const serving = total - compiling;
    console.log(
      `${s.name.padEnd(10)} ${label.padEnd(11)} ${(serving / count / 1e6).toFixed(3)} M instructions/request ` +
        `(${count} requests; ${((compiling / total) * 100).toFixed(1)} % more went to optimising code: warm up longer if that is above ~5 %)`,
    );
    if (Number(values.names) > 0) for (const line of await jitFunctionNames(file, pid, Number(values.names))) console.log(line);
  }
  // The perf map grows by every compiled function; it is only needed for the names above,
  // and with --out for naming the JIT addresses of the kept dumps (e.g. callers in --tree=caller).
  if (Number(values.names) > 0) {
    if (values.out) await copyFile(`/tmp/perf-${pid}.map`, path.join(outDir, `perf-${pid}.map`)).catch(() => undefined);
    await rm(`/tmp/perf-${pid}.map`, { force: true });
  }
}

const outDir = values.out ? path.resolve(values.out) : await mkdtemp(path.join(tmpdir(), "switchyard-callgrind-"));
await mkdir(outDir, { recursive: true });
const children: ChildProcess[] = [];
try {
  const upstream = await startServerScript("upstream.ts", ["--latency-ms", "0", "--token-interval-ms", "0"], []);
  children.push(upstream.child);
  const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;

  if (values.floor) {
    const floor = await startServerScript("floor.mjs", ["--upstream", upstreamOrigin], callgrindPrefix(outDir), { timeoutMs: 300_000, nodeFlags: NODE_FLAGS });
    children.push(floor.child);
    await countTarget("floor", floor.child, `http://127.0.0.1:${floor.port}`, { authorization: `Bearer ${BENCH_PROVIDER_KEY}` }, outDir);
    await stopChild(floor.child);
  }

  const databaseUrl = await prepareTestDatabase("switchyard_bench_suite");
  const prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  const tenant = await seedBenchTenant(prisma, { upstreamUrl: `${upstreamOrigin}/v1`, limits: !values["no-limits"] });
  await prisma.$disconnect();
  const limitsPrefix = `bench-instructions:${process.pid}:${Date.now()}:`;
  const proxy = await startSwitchyardProxy({
    databaseUrl,
    redisUrl,
    limitsPrefix,
    port: 20_000 + Math.floor(Math.random() * 20_000),
    pin: callgrindPrefix(outDir),
    logLevel: "warn",
    entry: "dist",
    nodeArgs: NODE_FLAGS,
    readyTimeoutMs: 300_000,
  });
  children.push(proxy.child);
  await countTarget("switchyard", proxy.child, proxy.origin, { authorization: `Bearer ${tenant.key}` }, outDir, () => drainUsageQueue(redisUrl));
  await stopChild(proxy.child);
  await cleanupBenchRedis(redisUrl, limitsPrefix);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (!values.out) await rm(outDir, { recursive: true, force: true });
}
console.log(`(${benchDir}: valgrind callgrind, user-space instructions of every thread of the process)`);
