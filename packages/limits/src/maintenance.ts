/**
 * Reading and clearing this package's keys from outside the scripts: for tests, benchmarks
 * and operators. The layout's details (a minute hash's running sum "t", the scripts' cached
 * ":from:" parts) stay here instead of in every caller.
 */
import type { Redis } from "ioredis";
import { type KeyOptions, rpmKey, tpmKey } from "./keys";

/** Deletes every key whose name starts with `prefix` (SCAN, never KEYS). Returns how many. */
export async function deleteKeysWithPrefix(redis: Pick<Redis, "scan" | "del">, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== "0");
  return deleted;
}

/**
 * Every token a scope's TPM hashes still hold, over all their minutes (not only the
 * sliding window): the sum of the per-second buckets, without the minute totals and the
 * cached previous-minute parts.
 */
export async function tokensCounted(redis: Pick<Redis, "scan" | "hgetall">, scope: string, id: string, options: KeyOptions = {}): Promise<number> {
  return bucketsSum(redis, tpmKey(scope, id, 0, options).replace(/0$/, "*"));
}

/** As tokensCounted, for the requests a scope's RPM hashes still hold. */
export async function requestsCounted(redis: Pick<Redis, "scan" | "hgetall">, scope: string, id: string, options: KeyOptions = {}): Promise<number> {
  return bucketsSum(redis, rpmKey(scope, id, 0, options).replace(/0$/, "*"));
}

async function bucketsSum(redis: Pick<Redis, "scan" | "hgetall">, pattern: string): Promise<number> {
  let total = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    for (const k of keys) {
      if (k.includes(":from:")) continue;
      for (const [field, v] of Object.entries(await redis.hgetall(k))) if (field !== "t") total += Number(v);
    }
  } while (cursor !== "0");
  return total;
}
