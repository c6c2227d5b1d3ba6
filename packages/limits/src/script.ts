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

  async run(redis: LimitsRedis, keys: readonly string[], args: readonly (string | number)[]): Promise<Reply> {
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

type BatchItem = { keys: string[]; args: (string | number)[]; resolve: (r: Reply) => void; reject: (e: unknown) => void };

/**
 * A script whose calls are gathered (per event-loop turn, or over a short window) and run
 * as one EVALSHA: the calls of every request handled in the same turn cost one command to
 * build, send, run and parse, instead of one each (at c=64 a turn holds 5–30 requests). `body` is a Lua
 * function body over its own KEYS and ARGV (it `return`s its reply); `prelude` holds
 * the local functions it calls, defined once per script run. The items run one after
 * another inside the script, so each is exactly as atomic as its own call would be.
 *
 * KEYS: every distinct key of the batch, once. ARGV: n, then (#keys, #args) per item, then
 * per item its keys' positions in KEYS followed by its args. Reply: one reply per item.
 *
 * A failure (Redis down, a Lua error) rejects every call of the batch; a Lua error
 * stops the batch where it happened, as a single script's error stops that script.
 *
 * A batch leaves in the turn after its first call, never later: a call nobody waits on
 * (a settle) must reach Redis before the client it served can send its next request, to
 * this replica or another. `after` names a script whose calls queued on the same client
 * are sent first (an admit goes after the settles before it, even within one turn).
 */
export class BatchedScript {
  private readonly script: LuaScript;
  private readonly queues = new WeakMap<LimitsRedis, BatchItem[]>();

  constructor(
    prelude: string,
    body: string,
    private readonly maxItems = 128,
    private readonly after?: BatchedScript,
  ) {
    this.script = new LuaScript(`${prelude}
local function one(KEYS, ARGV)
${body}
end
local n = tonumber(ARGV[1])
local out = {}
local ai = 1 + 2 * n
for i = 1, n do
  local nk, na = ARGV[2 * i] + 0, ARGV[2 * i + 1] + 0
  local k, a = {}, {}
  -- "+ 0" converts as tonumber() does, for less (tonumber parses twice in Redis's Lua)
  for j = 1, nk do k[j] = KEYS[ARGV[ai + j] + 0] end
  ai = ai + nk
  for j = 1, na do a[j] = ARGV[ai + j] end
  ai = ai + na
  out[i] = one(k, a)
end
return out
`);
  }

  run(redis: LimitsRedis, keys: string[], args: (string | number)[]): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      let queue = this.queues.get(redis);
      if (!queue) {
        queue = [];
        this.queues.set(redis, queue);
        // setImmediate, not a microtask: the requests of one turn arrive in separate I/O callbacks.
        const mine = queue;
        setImmediate(() => this.flush(redis, mine));
      }
      queue.push({ keys, args, resolve, reject });
      if (queue.length >= this.maxItems) this.flush(redis);
    });
  }

  private flush(redis: LimitsRedis, queue?: BatchItem[]): void {
    const items = this.queues.get(redis);
    // A timer of a batch that was already sent (it filled up) must not cut the next one short.
    if (queue && items !== queue) return;
    if (!items) return;
    this.queues.delete(redis);
    // One client's commands reach Redis in the order they are written.
    this.after?.flush(redis);
    // Each distinct key is sent once (requests of one key share its counters, and every
    // request shares its team's and org's): items name their keys by index.
    const keys: string[] = [];
    const index = new Map<string, number>();
    // One ARGV array built in place: n, the (#keys, #args) pairs, then each item's key positions and args.
    const argv: (string | number)[] = [items.length];
    for (const item of items) argv.push(item.keys.length, item.args.length);
    for (const item of items) {
      for (const k of item.keys) {
        let i = index.get(k);
        if (i === undefined) {
          i = keys.push(k);
          index.set(k, i);
        }
        argv.push(i);
      }
      for (const a of item.args) argv.push(a);
    }
    this.script.run(redis, keys, argv).then(
      (reply) => {
        for (let i = 0; i < items.length; i++) items[i]!.resolve(reply[i] as unknown as Reply);
      },
      (err: unknown) => {
        for (const item of items) item.reject(err);
      },
    );
  }
}
