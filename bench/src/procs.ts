/**
 * Child processes of the suite: started with `node --import tsx` (optionally behind
 * `taskset -c <core>`, which execs, so the pid stays the child's), the port read from
 * the JSON line they print, and their RSS and CPU time read from /proc.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Which core each process is pinned to, or null when pinning is off or impossible. */
export interface Pinning {
  proxy: number;
  load: number;
  upstream: number;
}

/**
 * Proxies (floor, Switchyard, Portkey) get core 0 to themselves: it is the core whose cost
 * the ratios compare. The load generator gets core 1. On a 2-core machine the upstream
 * shares core 1 with the load generator (its cost is the same for every row, and keeping it
 * off core 0 keeps it out of the proxies' budget); with 3 or more cores it gets core 2.
 */
export function choosePinning(wanted: boolean): Pinning | null {
  if (!wanted || process.platform !== "linux") return null;
  const cores = availableParallelism();
  if (cores < 2) return null;
  if (spawnSync("taskset", ["-V"], { stdio: "ignore" }).status !== 0) return null;
  return { proxy: 0, load: 1, upstream: cores >= 3 ? 2 : 1 };
}

export function pinPrefix(core: number | undefined): string[] {
  return core === undefined ? [] : ["taskset", "-c", String(core)];
}

/** Spawns `node ...nodeArgs`, behind `pin` (e.g. ["taskset", "-c", "0"]) when given. */
export function spawnNode(pin: string[], nodeArgs: string[], options: SpawnOptions): ChildProcess {
  const [cmd = process.execPath, ...pinArgs] = pin;
  return spawn(cmd, pin.length > 0 ? [...pinArgs, process.execPath, ...nodeArgs] : nodeArgs, options);
}

/**
 * `node [...nodeFlags] --import tsx <script> ...args` in the bench package, behind `pin`; a
 * `.mjs` script (the floor) runs without tsx, whose loader would count in its memory.
 */
export function spawnScript(script: string, args: string[], pin: string[], stdio: "pipe" | "ignore" = "pipe", nodeFlags: string[] = []): ChildProcess {
  const loader = script.endsWith(".mjs") ? [] : ["--import", "tsx"];
  return spawnNode(pin, [...nodeFlags, ...loader, path.join(benchDir, "src", script), ...args], { cwd: benchDir, stdio: ["ignore", stdio, "inherit"] });
}

/** Starts a server script and resolves with its port (the `{"port":N}` line it prints). */
export async function startServerScript(
  script: string,
  args: string[],
  pin: string[],
  opts: { timeoutMs?: number; nodeFlags?: string[] } = {},
): Promise<{ child: ChildProcess; port: number }> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = spawnScript(script, args, pin, "pipe", opts.nodeFlags);
  if (!child.stdout) throw new Error("no stdout");
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), timeoutMs);
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
    lines.once("line", (line) => {
      clearTimeout(timer);
      const parsed = JSON.parse(line) as { port?: number };
      if (typeof parsed.port === "number") resolve(parsed.port);
      else reject(new Error(`${script} printed ${line}`));
    });
  });
  return { child, port };
}

/** Runs a script to completion and parses the last line it printed as JSON. */
export async function runScriptForJson<T>(script: string, args: string[], pin: string[]): Promise<T> {
  const child = spawnScript(script, args, pin);
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const last = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || !last) throw new Error(`${script} exited with ${code}`);
  return JSON.parse(last) as T;
}

/** Resident set size in MB from /proc/<pid>/status, or null off Linux / once the process is gone. */
export async function readRssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU time of a process in ms from /proc/<pid>/stat (clock ticks of 10 ms on Linux). */
export async function readCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime + stime) ? (utime + stime) * 10 : null;
  } catch {
    return null;
  }
}
