import { Redis } from "ioredis";
import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import { decodeEncryptionKey } from "@switchyard/db";
import { getEnv, getSecretEnv } from "../env";

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
}

/**
 * Publishes on a short-lived connection that fails fast (2 s) instead of queueing:
 * dashboard writes are rare, and a Redis outage must not hold a request.
 */
export async function publishOnRedis(
  redisUrl: string,
  kind: string,
  warn: (message: string) => void,
): Promise<boolean> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined); // reported below, once
  try {
    await redis.connect();
    await redis.publish(
      CONFIG_CHANGED_CHANNEL,
      JSON.stringify({ kind, source: "dashboard", at: new Date().toISOString() }),
    );
    return true;
  } catch (err) {
    warn(
      `could not notify proxies over Redis (${err instanceof Error ? err.message : String(err)}); ` +
        "the change is saved and proxies pick it up at their periodic refresh",
    );
    return false;
  } finally {
    redis.disconnect();
  }
}

let decoded: Buffer | undefined;

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
};
