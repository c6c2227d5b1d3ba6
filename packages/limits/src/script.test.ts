import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { clients, testPrefix } from "../test/redis";
import { deleteKeysWithPrefix } from "./maintenance";
import { BatchedScript, type LimitsRedis } from "./script";

let redis: Redis;
const prefix = testPrefix();

/** The client, counting the script calls that reach it. */
function counting(r: Redis): { client: LimitsRedis; calls: () => number } {
  let calls = 0;
  const client: LimitsRedis = {
    evalsha: ((...a: Parameters<Redis["evalsha"]>) => {
      calls++;
      return r.evalsha(...a);
    }) as Redis["evalsha"],
    eval: ((...a: Parameters<Redis["eval"]>) => {
      calls++;
      return r.eval(...a);
    }) as Redis["eval"],
  };
  return { client, calls: () => calls };
}

// Each item increments its key by its own step and answers {tag, new value}.
const INCR = new BatchedScript("local function tag(t) return 'item-' .. t end", "return {tag(ARGV[1]), redis.call('INCRBY', KEYS[1], ARGV[2])}", 16);

beforeAll(() => {
  [redis] = clients(1) as [Redis];
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

describe("BatchedScript", () => {
  it("runs the calls of one turn as one script call, in order, each caller getting its own reply", async () => {
    const { client, calls } = counting(redis);
    const key = `${prefix}counter`;
    const other = `${prefix}other`;
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => INCR.run(client, [i % 2 === 0 ? key : other], [i, i + 1])),
    );
    // Two calls: the first loads the script (NOSCRIPT, then EVAL) only if Redis did not have it yet.
    expect(calls()).toBeLessThanOrEqual(2);
    expect(replies.map((r) => r[0])).toEqual(Array.from({ length: 10 }, (_, i) => `item-${i}`));
    // Running sums per key, in call order: 1, 1+3, 1+3+5, … on `key`; 2, 2+4, … on `other`.
    expect(replies.map((r) => r[1])).toEqual([1, 2, 4, 6, 9, 12, 16, 20, 25, 30]);
    expect(Number(await redis.get(key))).toBe(25);
    expect(Number(await redis.get(other))).toBe(30);
  });

  it("splits a turn larger than its maximum into several calls and loses none", async () => {
    await INCR.run(redis, [`${prefix}warm`], [0, 1]); // the script is loaded: one call per batch from here
    const { client, calls } = counting(redis);
    const key = `${prefix}big`;
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => INCR.run(client, [key], [i, 1])));
    expect(calls()).toBe(3); // 16 + 16 + 8
    expect(replies.map((r) => r[1])).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("calls of different turns are separate script calls", async () => {
    const { client, calls } = counting(redis);
    const key = `${prefix}turns`;
    const a = await INCR.run(client, [key], [0, 5]);
    const b = await INCR.run(client, [key], [1, 5]);
    expect([a[1], b[1]]).toEqual([5, 10]);
    expect(calls()).toBe(2);
  });

  it("a failing batch rejects every call in it", async () => {
    const broken = new BatchedScript("", "return redis.call('INCRBY', KEYS[1], 'not-a-number')");
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => broken.run(redis, [`${prefix}x`], [])));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
  });
});

describe("BatchedScript after another", () => {
  it("sends the other script's queued calls on the same client first, even when they were queued after its own", async () => {
    const first = new BatchedScript("", "return redis.call('SET', KEYS[1], ARGV[1])");
    const second = new BatchedScript("", "return redis.call('GET', KEYS[1])", 128, first);
    const key = `${prefix}ordered`;
    await first.run(redis, [key], ["loaded"]);
    await second.run(redis, [key], []); // both scripts loaded: one call per batch from here
    const sent: string[] = [];
    const spy: LimitsRedis = {
      evalsha: ((sha: string, ...rest: (string | number)[]) => {
        sent.push(sha);
        return redis.evalsha(sha, ...(rest as [number, ...(string | number)[]]));
      }) as Redis["evalsha"],
      eval: ((...a: Parameters<Redis["eval"]>) => redis.eval(...a)) as Redis["eval"],
    };
    // Queued in this order within one turn: `second`'s batch is due to leave first, but
    // the write `first` was asked for must be in Redis before the read.
    const read = second.run(spy, [key], []);
    const write = first.run(spy, [key], ["written"]);
    expect(await read).toBe("written");
    expect(await write).toBe("OK");
    expect(sent.length).toBe(2);
    expect(new Set(sent).size).toBe(2);
  });

  it("a call made in one turn reaches Redis by the next turn, with nothing held back", async () => {
    const script = new BatchedScript("", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
    const { client, calls } = counting(redis);
    const key = `${prefix}prompt`;
    const pending = script.run(client, [key], [1]);
    expect(calls()).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(calls()).toBeGreaterThanOrEqual(1);
    expect(await pending).toBe(1);
  });
});

describe("BatchedScript: shared keys", () => {
  it("sends a key shared by many calls once, and every call still sees its own keys in its own order", async () => {
    const pair = new BatchedScript("", "return {redis.call('INCRBY', KEYS[1], ARGV[1]), redis.call('INCRBY', KEYS[2], ARGV[1]), KEYS[1], KEYS[2]}");
    let sentKeys: number | undefined;
    const spy: LimitsRedis = {
      evalsha: ((sha: string, numkeys: number, ...rest: (string | number)[]) => {
        sentKeys = numkeys;
        return redis.evalsha(sha, numkeys, ...rest);
      }) as Redis["evalsha"],
      eval: ((...a: Parameters<Redis["eval"]>) => redis.eval(...a)) as Redis["eval"],
    };
    const shared = `${prefix}shared`;
    const own = (i: number) => `${prefix}own-${i}`;
    // Half the calls name the shared key first, half second.
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => pair.run(spy, i % 2 === 0 ? [shared, own(i)] : [own(i), shared], [1])));
    expect(sentKeys).toBe(7); // the shared key once, plus six of their own
    replies.forEach((r, i) => expect(r.slice(2)).toEqual(i % 2 === 0 ? [shared, own(i)] : [own(i), shared]));
    expect(replies.map((r) => (r[2] === shared ? r[0] : r[1]))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Number(await redis.get(shared))).toBe(6);
  });
});
