import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import { createRedisConnection } from "@switchyard/jobs";
import type { CommandContext } from "./context";

/**
 * Tells running proxies to reload their snapshot. The database write has already
 * happened, so a Redis outage only warns: proxies also reload periodically.
 * Returns whether the notice was published.
 */
export async function publishConfigChanged(
  ctx: CommandContext,
  kind: "config" | "keys",
): Promise<boolean> {
  const redis = createRedisConnection(ctx.env.REDIS_URL, {
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
      JSON.stringify({ kind, source: "cli", at: new Date().toISOString() }),
    );
    return true;
  } catch (err) {
    ctx.warn(
      `could not notify proxies over Redis (${err instanceof Error ? err.message : String(err)}); ` +
        "the change is saved and running proxies will pick it up at their periodic refresh",
    );
    return false;
  } finally {
    redis.disconnect();
  }
}
