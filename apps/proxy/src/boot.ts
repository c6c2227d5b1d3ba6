import { Redis } from "ioredis";
import type { Dispatcher } from "undici";
import type { ProxyEnv } from "@switchyard/config";
import pg from "pg";
import { healthBucketMs } from "@switchyard/limits";
import { preloadEncodings, setRankLoader } from "@switchyard/tokenizer";
import { createProducerConnection, createQueue, createRedisConnection } from "@switchyard/jobs";
import { ExactCache } from "./cache/exact";
import { SemanticIndex } from "./cache/semantic";
import { Limits } from "./limits";
import { loadRankDataInChild } from "./rank-loader";
import { HealthMonitor } from "./routing/health";
import { createLogger, type Logger } from "./logger";
import { ProxyMetrics } from "./metrics";
import { createProxy, type Proxy } from "./server";
import { SnapshotStore } from "./snapshot";
import { UsageProducer } from "./usage-producer";

export interface BootOptions {
  env: ProxyEnv;
  /** The raw environment, for provider keys given as "env:NAME". */
  secretEnv: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
  dispatcher?: Dispatcher;
  /** Redis URL for usage events only (tests point it at a closed port); default REDIS_URL. */
  usageRedisUrl?: string;
  /** Redis URL for rate limits and budgets only (tests put a switchable forwarder in front); default REDIS_URL. */
  limitsRedisUrl?: string;
  /** Redis URL for health and caches only; default REDIS_URL. */
  routingRedisUrl?: string;
}

export interface RunningProxy {
  proxy: Proxy;
  snapshot: SnapshotStore;
  usage: UsageProducer;
  metrics: ProxyMetrics;
  logger: Logger;
  /** The dedicated connection of rate limits and budgets. */
  limitsRedis: Redis;
  health: HealthMonitor;
  /** Drains in-flight requests, flushes usage events, closes every connection. */
  shutdown(graceMs?: number): Promise<void>;
}

async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
}

function ready(connection: Redis): Promise<void> {
  return new Promise<void>((resolve) => {
    if (connection.status === "ready") resolve();
    else connection.once("ready", () => resolve());
  });
}

/**
 * Wires the proxy: a Postgres pool (only to load snapshots), Redis (usage producer and the
 * config-change subscriber), the snapshot, the server. Does not listen.
 */
export async function bootProxy(opts: BootOptions): Promise<RunningProxy> {
  const { env } = opts;
  const logger = opts.logger ?? createLogger(env.LOG_LEVEL);
  const metrics = new ProxyMetrics();
  // Token-count vocabularies load in a child process, so nothing of gpt-tokenizer's lists
  // stays in this one (see rank-loader.ts); they start loading now, not on the first request.
  setRankLoader(loadRankDataInChild);
  void preloadEncodings().catch((err: unknown) => logger.error({ err }, "cannot load the token-count vocabularies (counts will retry on use)"));
  // Postgres is read only to load snapshots (boot, config changes, the refresh timer): a few
  // plain queries, so a small pool whose idle connections close between loads, and no Prisma.
  // The timeouts keep an unreachable Postgres from hanging a reload (and every one after it).
  const db = new pg.Pool({
    connectionString: env.DATABASE_URL,
    max: 4,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 5_000,
    query_timeout: 30_000,
    application_name: "switchyard-proxy",
  });
  db.on("error", (err) => logger.warn({ err: err.message }, "Postgres connection error (the snapshot keeps its last load)"));

  const producerConnection = createProducerConnection(opts.usageRedisUrl ?? env.REDIS_URL);
  let lastRedisError = 0;
  producerConnection.on("error", (err: Error) => {
    // ioredis reports every reconnect attempt; one line every 30 s is enough.
    if (Date.now() - lastRedisError > 30_000)
      logger.warn({ err: err.message }, "usage Redis connection error (events go to the spool)");
    lastRedisError = Date.now();
  });
  const queue = createQueue("usage", producerConnection);
  queue.on("error", () => undefined); // surfaced by the connection handler above
  const usage = new UsageProducer({
    queue,
    connection: producerConnection,
    spoolDir: env.PROXY_SPOOL_DIR,
    batchWindowMs: env.PROXY_USAGE_BATCH_WINDOW_MS,
    logger,
    metrics,
    // Every event is schema-checked in development and tests; production checks a sample (1 in 64 still cost 0.65% of the CPU).
    validateEvery: env.NODE_ENV === "production" ? 256 : 1,
  });
  await usage.start();

  const snapshot = new SnapshotStore({
    db,
    metrics,
    logger,
    secretEnv: opts.secretEnv,
    encryptionKey: env.SWITCHYARD_ENCRYPTION_KEY,
  });
  if (!(await snapshot.reload())) {
    await db.end();
    producerConnection.disconnect();
    throw new Error(
      "cannot load the configuration snapshot from Postgres (is DATABASE_URL right and migrated?)",
    );
  }
  const subscriber = createRedisConnection(env.REDIS_URL);
  // Without Redis the proxy still serves (the timer refreshes the snapshot); don't hang the boot.
  await settleWithin(snapshot.start(subscriber, env.PROXY_SNAPSHOT_REFRESH_MS), 3000);

  // Limits get a connection of their own: short timeout and no offline queue, so a Redis
  // outage costs a request at most PROXY_LIMITS_TIMEOUT_MS before the fail mode applies.
  // The admits and settles of one event-loop turn leave as one prepared command (one
  // socket write; BatchedScript), so the connection needs no auto-pipelining.
  const limitsConnection = new Redis(opts.limitsRedisUrl ?? env.REDIS_URL, {
    commandTimeout: env.PROXY_LIMITS_TIMEOUT_MS,
    connectTimeout: 2000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  limitsConnection.on("error", () => undefined); // counted and logged per failed command by Limits
  await settleWithin(ready(limitsConnection), 3000);
  const limits = new Limits({
    redis: limitsConnection,
    prefix: env.SWITCHYARD_LIMITS_PREFIX,
    failMode: env.PROXY_LIMITS_FAIL_MODE,
    leases: env.PROXY_LIMITS_LEASES === "on",
    metrics,
    logger,
  });

  // Health and caches share one more connection: short timeouts, no offline queue; a
  // Redis outage makes the cache miss and health local, never a request wait.
  const routingConnection = new Redis(opts.routingRedisUrl ?? env.REDIS_URL, {
    commandTimeout: 500,
    connectTimeout: 2000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  routingConnection.on("error", () => undefined); // the cache and health monitor count and log their own failures
  // Without an offline queue, commands before the connection is up fail at once: wait for it
  // (bounded), or a fresh replica misses every cached answer until it connects.
  await settleWithin(ready(routingConnection), 3000);
  const health = new HealthMonitor({
    redis: routingConnection,
    prefix: env.SWITCHYARD_LIMITS_PREFIX,
    windowMs: env.PROXY_HEALTH_WINDOW_MS,
    bucketMs: healthBucketMs(env.PROXY_HEALTH_WINDOW_MS),
    errorRate: env.PROXY_HEALTH_ERROR_RATE,
    minRequests: env.PROXY_HEALTH_MIN_REQUESTS,
    openMs: env.PROXY_HEALTH_OPEN_MS,
    rampMs: env.PROXY_HEALTH_RAMP_MS,
    syncMs: env.PROXY_HEALTH_SYNC_MS,
    knownTargets: () => snapshot.current?.models.keys() ?? [],
    logger,
  });
  health.start();
  metrics.setCircuitSource(() => health.states());
  const cache = new ExactCache({ redis: routingConnection, prefix: env.SWITCHYARD_LIMITS_PREFIX, timeoutMs: env.PROXY_CACHE_TIMEOUT_MS });
  const semantic = new SemanticIndex({
    redis: routingConnection,
    prefix: env.SWITCHYARD_LIMITS_PREFIX,
  });

  const proxy = createProxy({
    config: {
      maxBodyBytes: env.PROXY_MAX_BODY_BYTES,
      upstreamHeadersTimeoutMs: env.PROXY_UPSTREAM_HEADERS_TIMEOUT_MS,
      upstreamBodyTimeoutMs: env.PROXY_UPSTREAM_BODY_TIMEOUT_MS,
      bodyLogMaxBytes: env.PROXY_BODY_LOG_MAX_BYTES,
      requestDeadlineMs: env.PROXY_REQUEST_DEADLINE_MS,
      streamFirstByteTimeoutMs: env.PROXY_STREAM_FIRST_BYTE_TIMEOUT_MS,
      maxAttempts: env.PROXY_MAX_ATTEMPTS,
      retryBaseBackoffMs: env.PROXY_RETRY_BASE_BACKOFF_MS,
      retryMaxBackoffMs: env.PROXY_RETRY_MAX_BACKOFF_MS,
    },
    getSnapshot: () => snapshot.current,
    recordUsage: (event) => usage.record(event),
    redisReachable: async () => {
      if (producerConnection.status !== "ready") return false;
      try {
        await Promise.race([
          producerConnection.ping(),
          new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 1000).unref()),
        ]);
        return true;
      } catch {
        return false;
      }
    },
    metrics,
    logger,
    dispatcher: opts.dispatcher,
    limits,
    health,
    cache,
    semantic,
  });

  return {
    proxy,
    snapshot,
    usage,
    metrics,
    logger,
    limitsRedis: limitsConnection,
    health,
    async shutdown(graceMs = 10_000) {
      await proxy.close(graceMs);
      await limits.drain();
      limitsConnection.disconnect();
      health.stop();
      routingConnection.disconnect();
      await usage.close();
      await snapshot.stop();
      await queue.close().catch(() => undefined);
      producerConnection.disconnect();
      await db.end();
    },
  };
}
