import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON lines on stdout. Keys and prompts are never passed to the logger; the redact
 * list is a second line of defence for headers that might be logged by mistake.
 */
export function createLogger(level: string, opts: { async?: boolean } = {}): Logger {
  return pino(
    {
      level,
      base: { service: "proxy" },
      redact: { paths: ["authorization", "*.authorization", "headers.authorization", '*["x-api-key"]', "apiKey", "*.apiKey"], censor: "[redacted]" },
    },
    // The server's stdout: lines written while a write is in flight leave together in the
    // next one (one syscall for many access-log lines under load, no delay when idle).
    // Flushed before exit (main.ts).
    opts.async ? pino.destination({ dest: 1, sync: false }) : undefined,
  );
}
