import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const appRoot = path.resolve(import.meta.dirname, "../..");

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the exit code, or the signal's name when a signal ended it. */
  exited: Promise<number | string | null>;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
}

const running = new Set<ChildProcess>();

/**
 * Runs the worker as production does (src/main.ts in its own Node process) with only
 * the given env (plus a throwaway encryption key; tests pass PATH themselves, as only
 * they may read process.env).
 */
export function spawnWorkerProcess(env: Record<string, string | undefined>): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: appRoot,
    env: { SWITCHYARD_ENCRYPTION_KEY: "a".repeat(64), LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string | null>((resolve) =>
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? signal);
    }),
  );
  return { child, exited, output: () => out };
}

/** Kills whatever worker process a test left running (afterAll). */
export function killWorkerProcesses(): void {
  for (const c of running) c.kill("SIGKILL");
}
