import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/** The part of an ioredis client this package uses; any `Redis` instance fits. */
export type LimitsRedis = Pick<Redis, "evalsha" | "eval">;

type Reply = (string | number | null)[];

/** A Lua script run by SHA, loading it on the first NOSCRIPT (after a Redis restart too). */
export class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: LimitsRedis, keys: string[], args: (string | number)[]): Promise<Reply> {
    try {
      return (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as Reply;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("NOSCRIPT")) {
        return (await redis.eval(this.source, keys.length, ...keys, ...args)) as Reply;
      }
      throw err;
    }
  }
}
