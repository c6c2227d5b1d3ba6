import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

// DB 0 is shared with other suites: every key lives under a random per-run prefix, removed at the end (never FLUSHDB).
export const REDIS_URL = "redis://127.0.0.1:6379/0";

export function testPrefix(): string {
  return `test:limits:${randomBytes(6).toString("hex")}:`;
}

export function clients(n: number): Redis[] {
  return Array.from({ length: n }, () => new Redis(REDIS_URL));
}
