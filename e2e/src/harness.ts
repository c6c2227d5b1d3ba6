import { spawn, execFile, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const execFileAsync = promisify(execFile);

/** The proxy's command line as production runs it: its V8 flags (apps/proxy/package.json's "nodeFlags"), then the build. */
export const proxyArgs: string[] = [
  ...(JSON.parse(readFileSync(path.join(repoRoot, "apps/proxy/package.json"), "utf8")) as { nodeFlags: string[] }).nodeFlags,
  "apps/proxy/dist/main.js",
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Runs `switchyard <args> --json` the way a user would and returns its one JSON document. */
export async function cli<T = Record<string, unknown>>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ["--import", "tsx", path.join(repoRoot, "packages/cli/src/main.ts"), ...args, "--json"],
    { env, cwd: repoRoot },
  );
  return JSON.parse(stdout) as T;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts one of the apps as its own process, keeping its output for failure messages. */
export function startProcess(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(cmd, args, { env, cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return {
    name,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      // The whole process group: `pnpm … start` has children of its own.
      if (child.pid) process.kill(-child.pid, "SIGTERM");
      const timer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, procs: Proc[] = []): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    for (const p of procs) {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited early:\n${p.output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const logs = procs.map((p) => `--- ${p.name}\n${p.output().slice(-3000)}`).join("\n");
  throw new Error(`timed out waiting for ${what}: ${lastErr instanceof Error ? lastErr.message : ""}\n${logs}`);
}

export async function httpOk(url: string): Promise<boolean> {
  const r = await fetch(url, { redirect: "manual" });
  return r.status < 500;
}

/**
 * A Redis server of the caller's own on a free loopback port (no persistence), so a
 * suite can flush and inspect it without touching anyone else's data. Stop it with
 * `proc.stop()`.
 */
export async function startRedisServer(): Promise<{ url: string; port: number; proc: Proc }> {
  const port = await freePort();
  const proc = startProcess(
    "redis-server",
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    process.env,
  );
  await waitFor(
    `redis-server on port ${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const sock = net.connect(port, "127.0.0.1");
        sock.once("data", (d) => {
          sock.destroy();
          resolve(d.toString().startsWith("+PONG"));
        });
        sock.once("error", () => resolve(false));
        sock.once("connect", () => sock.write("PING\r\n"));
      }),
    10_000,
    [proc],
  );
  return { url: `redis://127.0.0.1:${port}`, port, proc };
}

/** The JSON lines (pino) a process printed so far; other lines are skipped. */
export function jsonLines(proc: Proc): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of proc.output().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the output cap
    }
  }
  return out;
}

/** Runs `total` tasks with at most `concurrency` at a time; results in task order. */
export async function runConcurrently<T>(total: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(total);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return results;
}
