import { Redis, type RedisOptions } from "ioredis";

/**
 * Redis connection for BullMQ. Workers and blocking connections need
 * `maxRetriesPerRequest: null`; producers on the request path want to fail fast
 * instead, so they can spool rather than hang (see `producerConnection`).
 */
export function createRedisConnection(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...overrides });
}

/** A connection for request-path producers: commands fail quickly when Redis is down. */
export function createProducerConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}
