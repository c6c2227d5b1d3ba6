import { createHash } from "node:crypto";
import { Command, type Redis } from "ioredis";

/** The part of an ioredis client this package uses; any `Redis` instance fits. */
export type LimitsRedis = Pick<Redis, "evalsha" | "eval" | "sendCommand">;

type Reply = (string | number | null)[];

/** A command whose RESP bytes were encoded up front: one Buffer, written as it is. */
class EncodedCommand extends Command {
  constructor(
    name: string,
    private readonly bytes: Buffer,
  ) {
    // As ioredis's own command methods: bulk replies as strings, not Buffers.
    super(name, [], { replyEncoding: "utf8" });
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

/**
 * One command as RESP (an array of bulk strings: the lists' items in order, numbers in
 * decimal as ioredis would send them), encoded into one Buffer.
 *
 * The arguments of a limits batch (key names, ids, numbers) are ASCII, so the command is
 * first written as one string with each length taken as the string's, and encoded in a
 * single call; if the encoding comes out longer than the string, some argument was not
 * ASCII, and the command is written again with each length in UTF-8 bytes. Per argument
 * that is a few string concatenations instead of two calls into Buffer (byteLength,
 * write), which made this the proxy's most expensive JavaScript function (~36k
 * instructions per request).
 */
export function encodeCommand(lists: readonly (readonly (string | number)[])[]): Buffer {
  const ascii = respText(lists, false);
  const bytes = Buffer.from(ascii, "utf8");
  return bytes.length === ascii.length ? bytes : Buffer.from(respText(lists, true), "utf8");
}

/** The RESP text of encodeCommand; each bulk string's length in UTF-16 units (right for ASCII) or in UTF-8 bytes. */
function respText(lists: readonly (readonly (string | number)[])[], utf8Lengths: boolean): string {
  let count = 0;
  for (const list of lists) count += list.length;
  let resp = `*${count}\r\n`;
  for (const list of lists) {
    for (const a of list) {
      const text = typeof a === "string" ? a : String(a);
      resp += `$${utf8Lengths ? Buffer.byteLength(text) : text.length}\r\n${text}\r\n`;
    }
  }
  return resp;
}

/** A Lua script run by SHA, loading it on the first NOSCRIPT (after a Redis restart too). */
export class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  run(redis: LimitsRedis, keys: readonly string[], args: readonly (string | number)[]): Promise<Reply> {
    return this.loadingOnce((command, script) => redis[command](script, keys.length, ...keys, ...args));
  }

  /** As run, with the command encoded here (encodeCommand) and sent as one prepared write. */
  runEncoded(redis: LimitsRedis, keys: readonly string[], args: readonly (string | number)[]): Promise<Reply> {
    return this.loadingOnce((command, script) => redis.sendCommand(new EncodedCommand(command, encodeCommand([[command, script, keys.length], keys, args]))));
  }

  /** EVALSHA; on NOSCRIPT (a new script, a restarted Redis) EVAL with the source, which also loads it. */
  private async loadingOnce(send: (command: "evalsha" | "eval", script: string) => unknown): Promise<Reply> {
    try {
      return (await send("evalsha", this.sha)) as Reply;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("NOSCRIPT")) return (await send("eval", this.source)) as Reply;
      throw err;
    }
  }
}

type BatchItem = { kind: number; keys: readonly string[]; args: readonly (string | number)[]; resolve: (r: Reply) => void; reject: (e: unknown) => void };

/**
 * Scripts whose calls are gathered per event-loop turn and run as ONE script call per
 * client: the calls of every request handled in the same turn cost one command to build,
 * send, run and parse, instead of one each (at c=64 a turn holds 5–30 requests). A
 * script has several bodies (kinds: a request's admit and its settle are two); each body
 * is a Lua function body over its own KEYS and ARGV that `return`s its reply, and
 * `prelude` holds the local functions they call, defined once per script run.
 *
 * The calls of a batch run one after another inside the script, lower kinds first and in
 * call order within a kind, so each is exactly as atomic as its own call would be (the
 * settles a replica has made reach Redis before its later admits, even within one turn).
 * Each call runs under pcall: a Lua error fails that call alone, as its own script would
 * have failed, and the batch goes on. A failure of the whole command (Redis down, a
 * timeout) rejects every call of the batch.
 *
 * KEYS: every distinct key of the batch, once. ARGV: n, then (kind, #runs, #args) per
 * call, then per call its keys' positions in KEYS as runs (first position, count: calls
 * of one key, team and org name the same keys in the same order, so a call's keys are
 * one to three runs instead of one position each) followed by its args. Reply: one
 * reply per call. The command is encoded here straight into one Buffer (encodeCommand) and
 * written in one socket write.
 *
 * A batch leaves in the turn after its first call, never later: a call nobody waits on
 * (a settle) must reach Redis before the client it served can send its next request, to
 * this replica or another.
 */
export class BatchedScript {
  private readonly script: LuaScript;
  private readonly queues = new WeakMap<LimitsRedis, BatchItem[]>();

  constructor(
    prelude: string,
    bodies: readonly string[],
    private readonly maxItems = 128,
  ) {
    const functions = bodies.map((body, i) => `bodies[${i + 1}] = function(KEYS, ARGV)\n${body}\nend`).join("\n");
    this.script = new LuaScript(`${prelude}
local bodies = {}
${functions}
local n = ARGV[1] + 0
local out = {}
local ai = 1 + 3 * n
for i = 1, n do
  -- "+ 0" converts as tonumber() does, for less (tonumber parses twice in Redis's Lua)
  local kind, nr, na = ARGV[3 * i - 1] + 0, ARGV[3 * i] + 0, ARGV[3 * i + 1] + 0
  local k, a = {}, {}
  local nk = 0
  for r = 1, nr do
    local from, count = ARGV[ai + 2 * r - 1] + 0, ARGV[ai + 2 * r] + 0
    for j = from, from + count - 1 do
      nk = nk + 1
      k[nk] = KEYS[j]
    end
  end
  ai = ai + 2 * nr
  for j = 1, na do a[j] = ARGV[ai + j] end
  ai = ai + na
  local ok, r = pcall(bodies[kind + 1], k, a)
  if ok then out[i] = r
  elseif type(r) == "table" and r.err then out[i] = r
  else out[i] = {err = tostring(r)} end
end
return out
`);
  }

  /** Queues a call of body `kind` (its index in the constructor's `bodies`). */
  run(redis: LimitsRedis, keys: readonly string[], args: readonly (string | number)[], kind = 0): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      let queue = this.queues.get(redis);
      if (!queue) {
        queue = [];
        this.queues.set(redis, queue);
        // setImmediate, not a microtask: the requests of one turn arrive in separate I/O callbacks.
        const mine = queue;
        setImmediate(() => this.flush(redis, mine));
      }
      queue.push({ kind, keys, args, resolve, reject });
      if (queue.length >= this.maxItems) this.flush(redis);
    });
  }

  private flush(redis: LimitsRedis, queue?: BatchItem[]): void {
    let items = this.queues.get(redis);
    // A timer of a batch that was already sent (it filled up) must not cut the next one short.
    if (queue && items !== queue) return;
    if (!items) return;
    this.queues.delete(redis);
    let mixed = false;
    for (let i = 1; i < items.length && !mixed; i++) mixed = items[i]!.kind !== items[0]!.kind;
    // Stable: call order within a kind.
    if (mixed) items = items.slice().sort((a, b) => a.kind - b.kind);
    // Each distinct key is sent once (requests of one key share its counters, and every
    // request shares its team's and org's): calls name their keys by index.
    const keys: string[] = [];
    const index = new Map<string, number>();
    // One ARGV array built in place: n, the (kind, #runs, #args) triples (#runs filled in
    // below), then each call's runs of key positions and its args.
    const argv: (string | number)[] = [items.length];
    for (const item of items) argv.push(item.kind, 0, item.args.length);
    for (let c = 0; c < items.length; c++) {
      const item = items[c]!;
      let runs = 0;
      let next = -1;
      for (const k of item.keys) {
        let i = index.get(k);
        if (i === undefined) {
          i = keys.push(k);
          index.set(k, i);
        }
        if (i === next) (argv[argv.length - 1] as number)++;
        else {
          argv.push(i, 1);
          runs++;
        }
        next = i + 1;
      }
      argv[3 * c + 2] = runs;
      for (const a of item.args) argv.push(a);
    }
    const batch = items;
    this.script.runEncoded(redis, keys, argv).then(
      (reply) => {
        for (let i = 0; i < batch.length; i++) {
          const r = reply[i] as unknown;
          if (r instanceof Error) batch[i]!.reject(r);
          else batch[i]!.resolve(r as Reply);
        }
      },
      (err: unknown) => {
        for (const item of batch) item.reject(err);
      },
    );
  }
}
