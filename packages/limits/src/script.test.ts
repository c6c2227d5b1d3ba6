import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Command, type Redis } from "ioredis";
import { clients, testPrefix } from "../test/redis";
import { deleteKeysWithPrefix } from "./maintenance";
import { BatchedScript, encodeCommand, type LimitsRedis } from "./script";

let redis: Redis;
const prefix = testPrefix();

/** A RESP array of bulk strings (what encodeCommand writes) back to its arguments. */
function decodeCommand(bytes: Buffer): string[] {
  const text = bytes.toString("latin1");
  const head = /^\*(\d+)\r\n/.exec(text)!;
  const out: string[] = [];
  let o = head[0].length;
  for (let i = 0; i < Number(head[1]); i++) {
    const m = /^\$(\d+)\r\n/.exec(text.slice(o))!;
    o += m[0].length;
    out.push(bytes.subarray(o, o + Number(m[1])).toString("utf8"));
    o += Number(m[1]) + 2;
  }
  expect(o).toBe(bytes.length);
  return out;
}

/** The client, counting the script calls that reach it and keeping each one's arguments. */
function counting(r: Redis): { client: LimitsRedis; calls: () => number; sent: string[][] } {
  let calls = 0;
  const sent: string[][] = [];
  const client: LimitsRedis = {
    evalsha: ((...a: Parameters<Redis["evalsha"]>) => {
      calls++;
      return r.evalsha(...a);
    }) as Redis["evalsha"],
    eval: ((...a: Parameters<Redis["eval"]>) => {
      calls++;
      return r.eval(...a);
    }) as Redis["eval"],
    sendCommand: ((command: Command) => {
      calls++;
      sent.push(decodeCommand(command.toWritable({}) as Buffer));
      return r.sendCommand(command);
    }),
  };
  return { client, calls: () => calls, sent };
}

// Each item increments its key by its own step and answers {tag, new value}.
const INCR = new BatchedScript("local function tag(t) return 'item-' .. t end", ["return {tag(ARGV[1]), redis.call('INCRBY', KEYS[1], ARGV[2])}"], 16);

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

  it("a call that fails in Lua fails alone: the calls before and after it in the batch run", async () => {
    const { client, calls } = counting(redis);
    const key = `${prefix}partly`;
    const results = await Promise.allSettled([1, "not-a-number", 2, "x", 3].map((step, i) => INCR.run(client, [key], [i, step])));
    expect(calls()).toBeLessThanOrEqual(2);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value[1] : null))).toEqual([1, null, 3, null, 6]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/not an integer/);
    expect(Number(await redis.get(key))).toBe(6);
  });

  it("a batch whose command fails rejects every call in it", async () => {
    const down: LimitsRedis = {
      evalsha: redis.evalsha.bind(redis),
      eval: redis.eval.bind(redis),
      sendCommand: (() => Promise.reject(new Error("Connection is closed."))),
    };
    const results = await Promise.allSettled(Array.from({ length: 3 }, (_, i) => INCR.run(down, [`${prefix}down`], [i, 1])));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(await redis.exists(`${prefix}down`)).toBe(0);
  });

  it("loads the script when Redis does not have it (after a restart) and loses no call", async () => {
    const fresh = new BatchedScript("", [`return redis.call('INCRBY', KEYS[1], ARGV[1]) .. '-${prefix}'`]);
    const { client, sent } = counting(redis);
    const key = `${prefix}fresh`;
    const replies = await Promise.all([fresh.run(client, [key], [2]), fresh.run(client, [key], [3])]);
    expect(replies).toEqual([`2-${prefix}`, `5-${prefix}`]);
    // EVALSHA answered NOSCRIPT (a script no Redis has seen), then EVAL ran the batch once.
    expect(sent.map((c) => c[0])).toEqual(["evalsha", "eval"]);
    expect(Number(await redis.get(key))).toBe(5);
  });
});

describe("encodeCommand", () => {
  it("writes the bytes ioredis writes for the same arguments", () => {
    const args = ["sha", 3, "k:ä:1", "", "x".repeat(300), 0, 7, 10, 99, 100, 12345, 2 ** 40, -5, 1.5, "1e21", "日本語 🎉", Number.MAX_SAFE_INTEGER];
    const ours = encodeCommand([["evalsha"], args.slice(0, 5), args.slice(5)]);
    const theirs = new Command("evalsha", args).toWritable({});
    expect(Buffer.isBuffer(ours)).toBe(true);
    expect(ours.toString("utf8")).toBe(String(theirs));
    expect(decodeCommand(ours)).toEqual(["evalsha", ...args.map(String)]);
  });

  it("writes the same bytes for ASCII-only arguments (the usual batch), and when only the last one is not ASCII", () => {
    const keys = Array.from({ length: 40 }, (_, i) => `sy:{t}:rl:key:clx${i}abcdef:${1_700_000_000_000 + i}:rpm`);
    const args = ["sha", keys.length, ...keys, "", 0, 7, 10, 99, 100, 12345, 1_000_000_000, 2 ** 31 - 1, 2 ** 31, 2 ** 40, -5, 1.5, "1e21", "x".repeat(300), Number.MAX_SAFE_INTEGER];
    for (const list of [args, [...args, "é"], [...args, "\u{1F389}"], [...args, `${"y".repeat(30)}é`]]) {
      const ours = encodeCommand([["evalsha"], list.slice(0, 2), list.slice(2)]);
      expect(ours.toString("utf8")).toBe(String(new Command("evalsha", list).toWritable({})));
      expect(decodeCommand(ours)).toEqual(["evalsha", ...list.map(String)]);
    }
  });
});

describe("BatchedScript with several kinds", () => {
  const WRITE = 0;
  const READ = 1;
  const rw = new BatchedScript("", ["return redis.call('SET', KEYS[1], ARGV[1])", "return redis.call('GET', KEYS[1])"]);

  it("runs lower kinds first in one script call, even when they were queued after a higher kind's calls", async () => {
    const key = `${prefix}ordered`;
    await rw.run(redis, [key], ["loaded"], WRITE); // the script is loaded: one call per batch from here
    const { client, calls } = counting(redis);
    // Queued in this order within one turn: the write asked for must be in Redis before the read.
    const read = rw.run(client, [key], [], READ);
    const write = rw.run(client, [key], ["written"], WRITE);
    const readAgain = rw.run(client, [key], [], READ);
    const overwrite = rw.run(client, [key], ["again"], WRITE);
    expect(await read).toBe("again");
    expect(await readAgain).toBe("again");
    expect(await write).toBe("OK");
    expect(await overwrite).toBe("OK");
    expect(calls()).toBe(1);
  });

  it("a call made in one turn reaches Redis by the next turn, with nothing held back", async () => {
    const script = new BatchedScript("", ["return redis.call('INCRBY', KEYS[1], ARGV[1])"]);
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
    const pair = new BatchedScript("", ["return {redis.call('INCRBY', KEYS[1], ARGV[1]), redis.call('INCRBY', KEYS[2], ARGV[1]), KEYS[1], KEYS[2]}"]);
    const { client: spy, sent } = counting(redis);
    const shared = `${prefix}shared`;
    const own = (i: number) => `${prefix}own-${i}`;
    // Half the calls name the shared key first, half second.
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => pair.run(spy, i % 2 === 0 ? [shared, own(i)] : [own(i), shared], [1])));
    expect(Number(sent[sent.length - 1]![2])).toBe(7); // numkeys: the shared key once, plus six of their own
    replies.forEach((r, i) => expect(r.slice(2)).toEqual(i % 2 === 0 ? [shared, own(i)] : [own(i), shared]));
    expect(replies.map((r) => (r[2] === shared ? r[0] : r[1]))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Number(await redis.get(shared))).toBe(6);
  });

  it("names a call's keys by runs of positions: a call over keys already sent costs two arguments per run, whatever their number", async () => {
    const echo = new BatchedScript("", ["return KEYS"]);
    const { client: spy, sent } = counting(redis);
    const keys = Array.from({ length: 20 }, (_, i) => `${prefix}run-${i}`);
    const lists = [keys, keys, [...keys.slice(10), ...keys.slice(0, 10)], [keys[3]!, keys[3]!, keys[4]!], []];
    const replies = await Promise.all(lists.map((k) => echo.run(spy, k, [])));
    replies.forEach((r, i) => expect(r).toEqual(lists[i]));
    // evalsha, sha, numkeys, the 20 keys; n and a triple per call; runs: 1 + 1 + 2 + 2 + 0.
    expect(sent[sent.length - 1]!.length).toBe(3 + 20 + 1 + 3 * lists.length + 2 * 6);
  });
});
