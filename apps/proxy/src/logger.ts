import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON lines on stdout. Keys and prompts are never passed to the logger; the redact
 * list is a second line of defence for headers that might be logged by mistake.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "proxy" },
    redact: { paths: ["authorization", "*.authorization", "headers.authorization", '*["x-api-key"]', "apiKey", "*.apiKey"], censor: "[redacted]" },
  });
}
