import { Redis } from "ioredis";
// The subpath keeps BullMQ out of the Next.js server bundle.
import { publishConfigChanged } from "@switchyard/jobs/config-changed";
import { decodeEncryptionKey } from "@switchyard/db";
import { healthBucketMs, readHealthReport, type HealthReportRow } from "@switchyard/limits";
import { getEnv, getSecretEnv } from "../env";
import { createSmtpMailer, type Mailer } from "./mailer";

/** What procedures need beyond the database; tests pass their own. */
export interface ServerServices {
  /** SWITCHYARD_ENCRYPTION_KEY, decoded: provider keys are stored encrypted with it. */
  encryptionKey(): Buffer;
  /** Where "env:NAME" provider key references resolve for "Test connection". */
  secretEnv(): Readonly<Record<string, string | undefined>>;
  /**
   * Tells proxies to reload their snapshot (CONFIG_CHANGED_CHANNEL). Never throws: the
   * write is already saved, and proxies also reload periodically. Returns whether it went out.
   */
  publishConfigChanged(kind: string): Promise<boolean>;
  /** Sends invitation emails (SMTP_URL). Optional so suites that send none need not provide it. */
  mailer?: Mailer;
  /** The dashboard's public base URL (no trailing slash), for links in emails. */
  publicUrl?(): string;
  /**
   * The proxies' shared health of `targets` (public model names) over their window, read
   * from Redis. Throws when Redis cannot answer. Optional so suites that read none need
   * not provide it.
   */
  healthReport?(targets: string[]): Promise<HealthReport>;
}

/** Health rows and the window (ms) their counts cover. */
export interface HealthReport {
  windowMs: number;
  rows: HealthReportRow[];
}

/**
 * A reader of the proxies' health counters on `redis` (a client the caller owns).
 * `prefix` and `windowMs` must be the proxies' SWITCHYARD_LIMITS_PREFIX and
 * PROXY_HEALTH_WINDOW_MS, or the page reads other keys or another window.
 */
export function redisHealthReport(redis: Redis, prefix: string, windowMs: number) {
  return async (targets: string[]): Promise<HealthReport> => ({
    windowMs,
    rows: await readHealthReport(redis, prefix, targets, { windowMs, bucketMs: healthBucketMs(windowMs) }),
  });
}

/** Tells proxies to reload (fails fast; a Redis outage only warns). */
export function publishOnRedis(redisUrl: string, kind: string, warn: (message: string) => void): Promise<boolean> {
  return publishConfigChanged(redisUrl, { kind, source: "dashboard" }, warn);
}

let decoded: Buffer | undefined;
let smtpMailer: Mailer | undefined;
let healthRedis: Redis | undefined;

/**
 * One connection per process for the Health page's reads. Fails fast instead of
 * queueing, so a Redis outage shows as an error on the page rather than a hung request.
 */
function getHealthRedis(): Redis {
  if (healthRedis) return healthRedis;
  healthRedis = new Redis(getEnv().REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  // Failures reach the page through the rejected command; no unhandled 'error' events.
  healthRedis.on("error", () => undefined);
  return healthRedis;
}

/** Connects on first use and waits (2 s at most) for a connection in progress, so concurrent first reads do not fail. */
async function whenReady(redis: Redis): Promise<void> {
  if (redis.status === "ready") return;
  if (redis.status === "wait" || redis.status === "end") {
    await redis.connect();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      reject(new Error(`not connected (${redis.status})`));
    }, 2000);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once("ready", onReady);
  });
}

/** The process's services, reading the environment only when first used (not at build time). */
export const defaultServices: ServerServices = {
  encryptionKey() {
    decoded ??= decodeEncryptionKey(getEnv().SWITCHYARD_ENCRYPTION_KEY);
    return decoded;
  },
  secretEnv: getSecretEnv,
  publishConfigChanged(kind) {
    return publishOnRedis(getEnv().REDIS_URL, kind, (m) => console.warn(`[switchyard] ${m}`));
  },
  mailer: {
    send(message) {
      smtpMailer ??= createSmtpMailer(getEnv().SMTP_URL, getEnv().MAIL_FROM);
      return smtpMailer.send(message);
    },
  },
  publicUrl: () => getEnv().publicUrl,
  async healthReport(targets) {
    const redis = getHealthRedis();
    await whenReady(redis);
    return redisHealthReport(redis, getEnv().SWITCHYARD_LIMITS_PREFIX, getEnv().PROXY_HEALTH_WINDOW_MS)(targets);
  },
};
