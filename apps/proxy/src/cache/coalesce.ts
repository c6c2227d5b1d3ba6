/**
 * Request coalescing within one proxy process: identical requests in flight at the same
 * moment share one upstream call. The first becomes the leader and calls the provider;
 * the others follow, receiving the leader's stream as it is produced (what was already
 * produced first), then the finished answer.
 */
import type { CachedAnswer } from "./exact";

/** The request that calls the provider. It must call finish() exactly once, success or not (use finally). */
export interface Leader {
  role: "leader";
  /** Forwards a piece of the answer's OpenAI SSE to the followers. */
  publish(openAiSse: string): void;
  /** The call is over: the answer, or null when it failed (followers then make their own call). */
  finish(answer: CachedAnswer | null): void;
}

/** A request served by another's upstream call. */
export interface Follower {
  role: "follower";
  /**
   * The leader's SSE published so far, then live; ends when the leader finishes.
   * Consume it once; leaving the loop early detaches this follower.
   */
  events(): AsyncIterable<string>;
  /** The leader's answer; null when the leader failed, and this request must make its own call. */
  done: Promise<CachedAnswer | null>;
}

export interface InflightOptions {
  /**
   * SSE characters kept for followers that join late (default 4 Mi). Past it the call
   * stops taking followers: the next identical request leads a call of its own.
   */
  maxBufferChars?: number;
  /** A leader that never finishes is treated as failed after this long (default 10 min). */
  leaderTimeoutMs?: number;
}

interface FollowerQueue {
  pending: string[];
  /** Wakes the follower's iterator when an event arrives or the call ends. */
  wake: (() => void) | null;
}

interface Flight {
  buffer: string[];
  bufferChars: number;
  /** False once the buffer overflowed: late joiners could not get the whole stream. */
  open: boolean;
  finished: boolean;
  followers: Set<FollowerQueue>;
  resolveDone: (answer: CachedAnswer | null) => void;
  done: Promise<CachedAnswer | null>;
  timer: NodeJS.Timeout;
}

/**
 * The key under which requests may coalesce: the exact-cache key plus how the answer is
 * delivered, because followers receive the leader's bytes as they are (a stream or not,
 * with the usage chunk or without).
 */
export function inflightKey(exactKey: string, delivery: { stream: boolean; includeUsage: boolean }): string {
  return `${exactKey}|${delivery.stream ? "stream" : "json"}${delivery.stream && delivery.includeUsage ? "+usage" : ""}`;
}

export class InflightRequests {
  private readonly flights = new Map<string, Flight>();
  private readonly maxBufferChars: number;
  private readonly leaderTimeoutMs: number;

  constructor(opts: InflightOptions = {}) {
    this.maxBufferChars = opts.maxBufferChars ?? 4 * 1024 * 1024;
    this.leaderTimeoutMs = opts.leaderTimeoutMs ?? 600_000;
  }

  /** Calls in flight (for a gauge). */
  get size(): number {
    return this.flights.size;
  }

  /** Leads a new call for `key`, or follows the one in flight. */
  join(key: string): Leader | Follower {
    const flight = this.flights.get(key);
    if (flight?.open) return this.follow(flight);
    return this.lead(key);
  }

  private lead(key: string): Leader {
    let resolveDone!: (answer: CachedAnswer | null) => void;
    const done = new Promise<CachedAnswer | null>((resolve) => {
      resolveDone = resolve;
    });
    const flight: Flight = {
      buffer: [],
      bufferChars: 0,
      open: true,
      finished: false,
      followers: new Set(),
      resolveDone,
      done,
      timer: setTimeout(() => finish(null), this.leaderTimeoutMs),
    };
    flight.timer.unref();
    this.flights.set(key, flight);

    const release = () => {
      flight.open = false;
      // A newer flight may hold the key already (after an overflow): leave it alone.
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    const finish = (answer: CachedAnswer | null) => {
      if (flight.finished) return;
      flight.finished = true;
      clearTimeout(flight.timer);
      release();
      flight.buffer = [];
      flight.resolveDone(answer);
      for (const f of flight.followers) f.wake?.();
    };
    const publish = (openAiSse: string) => {
      if (flight.finished || openAiSse === "") return;
      if (flight.open) {
        flight.buffer.push(openAiSse);
        flight.bufferChars += openAiSse.length;
        if (flight.bufferChars > this.maxBufferChars) {
          release();
          flight.buffer = [];
        }
      }
      for (const f of flight.followers) {
        f.pending.push(openAiSse);
        f.wake?.();
      }
    };
    return { role: "leader", publish, finish };
  }

  private follow(flight: Flight): Follower {
    const queue: FollowerQueue = { pending: [...flight.buffer], wake: null };
    flight.followers.add(queue);
    async function* events(): AsyncGenerator<string> {
      try {
        for (;;) {
          const next = queue.pending.shift();
          if (next !== undefined) {
            yield next;
            continue;
          }
          if (flight.finished) return;
          await new Promise<void>((resolve) => {
            queue.wake = resolve;
          });
          queue.wake = null;
        }
      } finally {
        flight.followers.delete(queue);
      }
    }
    return { role: "follower", events, done: flight.done };
  }
}
