import { z } from "zod";

/**
 * Env schemas, one per process. Apps parse `process.env` with these in their own
 * `src/env.ts`, once, at boot. A bad value stops the process naming the variable.
 */
export const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/switchyard";
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

const encryptionKey = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$|^[A-Za-z0-9+/]{43}=$/, "must be 32 bytes as 64 hex characters or 44 base64 characters");

export const baseEnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATABASE_URL: z.string().url().default(DEFAULT_DATABASE_URL),
  REDIS_URL: z.string().url().default(DEFAULT_REDIS_URL),
  SWITCHYARD_ENCRYPTION_KEY: encryptionKey,
});

/** Key prefix of the rate-limit and budget counters in Redis: proxies and workers must share it. */
const limitsPrefix = z.string().min(1).default("sy:");

/** Email (budget alerts from the worker, invitations from the dashboard). */
const mailEnv = {
  /** nodemailer transport URL. */
  SMTP_URL: z.string().default("smtp://127.0.0.1:1025"),
  /** Sender of Switchyard's emails. */
  MAIL_FROM: z.string().default("Switchyard <switchyard@localhost>"),
  /** The dashboard's address as people reach it, for links in emails (dashboard default: BETTER_AUTH_URL). */
  DASHBOARD_URL: z.string().url().optional(),
};

const healthWindowMs = z.coerce.number().int().positive().default(120_000);

export const proxyEnvSchema = baseEnvSchema.extend({
  PROXY_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  PROXY_HOST: z.string().default("0.0.0.0"),
  /** Largest request body accepted, in bytes (413 above it). */
  PROXY_MAX_BODY_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** Time allowed for the provider's response headers. */
  PROXY_UPSTREAM_HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  /** Time allowed between two body chunks of a provider response. */
  PROXY_UPSTREAM_BODY_TIMEOUT_MS: z.coerce.number().int().positive().default(300_000),
  /** Safety-net full reload of the snapshot, on top of pub/sub invalidation. */
  PROXY_SNAPSHOT_REFRESH_MS: z.coerce.number().int().positive().default(30_000),
  /** Where usage events go when Redis cannot take them. */
  PROXY_SPOOL_DIR: z.string().default("./var/spool"),
  /**
   * How long usage events gather before they leave as one queue job (0: one event-loop
   * turn). Longer windows make fewer, larger jobs: less CPU a request on the proxy and in
   * Redis; an event reaches the queue at most this much later, and a replica killed
   * without SIGTERM loses at most this much of its events (SIGTERM sends them first).
   */
  PROXY_USAGE_BATCH_WINDOW_MS: z.coerce.number().int().min(0).max(1000).default(20),
  /**
   * What the proxy does when Redis cannot answer a rate-limit or budget check:
   * "open" serves the request unchecked (logged, counted), "closed" answers 503.
   */
  PROXY_LIMITS_FAIL_MODE: z.enum(["open", "closed"]).default("open"),
  SWITCHYARD_LIMITS_PREFIX: limitsPrefix,
  /**
   * "on": a replica admits a busy key's requests against a slice of its limits' headroom
   * leased from Redis (no Redis round trip on their path); "off": one admit per request.
   */
  PROXY_LIMITS_LEASES: z.enum(["on", "off"]).default("on"),
  /** Longest wait for one limits command before the fail mode applies. */
  PROXY_LIMITS_TIMEOUT_MS: z.coerce.number().int().positive().default(500),
  /** On SIGTERM: how long in-flight requests (streams included) may run on before they are cut. */
  PROXY_SHUTDOWN_GRACE_MS: z.coerce.number().int().nonnegative().default(10_000),
  /** Cap (bytes, each of request and response) on bodies kept for teams with body logging on. */
  PROXY_BODY_LOG_MAX_BYTES: z.coerce.number().int().positive().default(32_768),
  /**
   * Bound on all attempts, backoffs and failovers of one request until its answer starts
   * (a route's retry.deadlineMs overrides it).
   */
  PROXY_REQUEST_DEADLINE_MS: z.coerce.number().int().positive().default(120_000),
  /** A stream whose first byte takes longer fails over (before anything reached the client). */
  PROXY_STREAM_FIRST_BYTE_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** Upstream attempts per request over all targets (a route's retry.maxAttempts overrides it). */
  PROXY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
  /** Longest single backoff on a 429/529; a longer retry-after moves to the next target instead. */
  PROXY_RETRY_MAX_BACKOFF_MS: z.coerce.number().int().nonnegative().default(8_000),
  /** First backoff step (doubled per retry, full jitter). */
  PROXY_RETRY_BASE_BACKOFF_MS: z.coerce.number().int().nonnegative().default(250),
  /** Health window per target: error rate and latency over this long, shared through Redis. */
  PROXY_HEALTH_WINDOW_MS: healthWindowMs,
  /** Error rate (0–1) over the window at which a target's circuit opens. */
  PROXY_HEALTH_ERROR_RATE: z.coerce.number().gt(0).max(1).default(0.1),
  /** Fewest requests in the window before the error rate can open a circuit. */
  PROXY_HEALTH_MIN_REQUESTS: z.coerce.number().int().positive().default(10),
  /** How long an opened circuit stays open before it is probed (doubles on a failed probe). */
  PROXY_HEALTH_OPEN_MS: z.coerce.number().int().positive().default(30_000),
  /** After a good probe, traffic comes back from 10 % to 100 % over this long. */
  PROXY_HEALTH_RAMP_MS: z.coerce.number().int().positive().default(60_000),
  /** How often a replica shares its health counts through Redis and reads everyone's. */
  PROXY_HEALTH_SYNC_MS: z.coerce.number().int().positive().default(1_000),
  /** How long an exact-cache read or write may take before it counts as a miss (a cache never holds a request up for long). */
  PROXY_CACHE_TIMEOUT_MS: z.coerce.number().int().positive().default(50),
});
export type ProxyEnv = z.infer<typeof proxyEnvSchema>;

export const workerEnvSchema = baseEnvSchema.extend({
  WORKER_BATCH_SIZE: z.coerce.number().int().positive().max(5000).default(200),
  WORKER_BATCH_WAIT_MS: z.coerce.number().int().nonnegative().default(200),
  WORKER_CONCURRENCY: z.coerce.number().int().positive().default(400),
  /** How often every budget is reconciled from Postgres into Redis and checked for alerts. */
  WORKER_BUDGET_INTERVAL_MS: z.coerce.number().int().positive().default(15_000),
  /** How often request logs and bodies past their org's retention are deleted (one worker at a time). */
  WORKER_RETENTION_INTERVAL_MS: z.coerce.number().int().positive().default(3_600_000),
  /**
   * BullMQ job lock of the usage consumer, renewed while the worker lives. A worker that
   * dies (kill -9, OOM) leaves its jobs locked this long before another takes them back.
   */
  WORKER_LOCK_DURATION_MS: z.coerce.number().int().positive().default(30_000),
  /** How often the usage consumer looks for jobs whose lock expired (stalled) to retry them. */
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().positive().default(30_000),
  SWITCHYARD_LIMITS_PREFIX: limitsPrefix,
  ...mailEnv,
});
export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export const dashboardEnvSchema = baseEnvSchema.extend({
  DASHBOARD_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  BETTER_AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  BETTER_AUTH_URL: z.string().url().optional(),
  /** The proxies' Redis key prefix: the Health page reads their counters. */
  SWITCHYARD_LIMITS_PREFIX: limitsPrefix,
  /** The proxies' health window (the Health page reads the same buckets). */
  PROXY_HEALTH_WINDOW_MS: healthWindowMs,
  ...mailEnv,
});
export type DashboardEnv = z.infer<typeof dashboardEnvSchema>;

export const cliEnvSchema = baseEnvSchema.extend({
  SWITCHYARD_ENCRYPTION_KEY: encryptionKey.optional(),
});
export type CliEnv = z.infer<typeof cliEnvSchema>;

export class EnvError extends Error {}

/** Parses an env object; throws an EnvError listing every bad variable by name. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  // Empty strings mean "unset" (docker-compose and shells leave them around).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
  throw new EnvError(`Invalid environment:\n${lines.join("\n")}`);
}
