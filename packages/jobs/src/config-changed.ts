import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import { createRedisConnection } from "./connection";

/**
 * Tells running proxies to reload their snapshot. Callers have already written the
 * change to Postgres, so this publishes on a short-lived connection that fails fast
 * (2 s) instead of queueing: a Redis outage must not hold a CLI command or a dashboard
 * request. On failure `warn` hears why once; proxies still pick the change up at their
 * periodic refresh. Returns whether the notice was published.
 */
export async function publishConfigChanged(
  redisUrl: string,
  notice: { kind: string; source: "cli" | "dashboard" },
  warn: (message: string) => void,
): Promise<boolean> {
  const redis = createRedisConnection(redisUrl, {
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
    await redis.publish(CONFIG_CHANGED_CHANNEL, JSON.stringify({ ...notice, at: new Date().toISOString() }));
    return true;
  } catch (err) {
    warn(
      `could not notify proxies over Redis (${err instanceof Error ? err.message : String(err)}); ` +
        "the change is saved and running proxies will pick it up at their periodic refresh",
    );
    return false;
  } finally {
    redis.disconnect();
  }
}
