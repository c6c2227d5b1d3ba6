import { describe, expect, it } from "vitest";
import { loadFixtures, splitSseEvents } from "@switchyard/mock-upstream/fixtures";
import { InflightRequests, inflightKey, type Follower, type Leader } from "./coalesce";
import type { CachedAnswer } from "./exact";
import { completionFromOpenAiSse } from "./sse";

const stream = splitSseEvents(loadFixtures().chatTextStream).map((e) => `${e}\n\n`);
const completion = completionFromOpenAiSse(stream);
if (!completion) throw new Error("fixture did not assemble");
const answer: CachedAnswer = {
  completion,
  usage: { inputTokens: 1248, outputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
  model: "gpt-4o",
  provider: "openai-main",
  storedAt: 0,
};

function asLeader(j: Leader | Follower): Leader {
  if (j.role !== "leader") throw new Error("expected the leader");
  return j;
}
function asFollower(j: Leader | Follower): Follower {
  if (j.role !== "follower") throw new Error("expected a follower");
  return j;
}
async function collect(f: Follower): Promise<string[]> {
  const out: string[] = [];
  for await (const e of f.events()) out.push(e);
  return out;
}
const tick = () => new Promise<void>((r) => setImmediate(r));

describe("InflightRequests", () => {
  it("makes one leader of 10 concurrent identical requests; all followers get the whole stream and the answer", async () => {
    const inflight = new InflightRequests();
    const joins = Array.from({ length: 10 }, () => inflight.join("k"));
    expect(joins.filter((j) => j.role === "leader")).toHaveLength(1);
    const leader = asLeader(joins[0]!);
    const followers = joins.slice(1).map(asFollower);
    const streams = followers.map(collect);
    for (const e of stream) {
      leader.publish(e);
      await tick();
    }
    leader.finish(answer);
    for (const s of await Promise.all(streams)) expect(s.join("")).toBe(stream.join(""));
    for (const f of followers) expect(await f.done).toEqual(answer);
    expect(inflight.size).toBe(0);
  });

  it("gives a late follower what was published before it joined, then the rest live", async () => {
    const inflight = new InflightRequests();
    const leader = asLeader(inflight.join("k"));
    for (const e of stream.slice(0, 5)) leader.publish(e);
    const late = asFollower(inflight.join("k"));
    const got = collect(late);
    await tick();
    for (const e of stream.slice(5)) leader.publish(e);
    leader.finish(answer);
    expect((await got).join("")).toBe(stream.join(""));
    expect(await late.done).toBe(answer);
  });

  it("keeps different requests apart", () => {
    const inflight = new InflightRequests();
    expect(inflight.join("a").role).toBe("leader");
    expect(inflight.join("b").role).toBe("leader");
    expect(inflight.join("a").role).toBe("follower");
  });

  it("frees the key when the leader finishes: the next identical request leads again", () => {
    const inflight = new InflightRequests();
    asLeader(inflight.join("k")).finish(answer);
    expect(inflight.join("k").role).toBe("leader");
  });

  it("tells followers to make their own call when the leader fails before any event", async () => {
    const inflight = new InflightRequests();
    const leader = asLeader(inflight.join("k"));
    const followers = [inflight.join("k"), inflight.join("k")].map(asFollower);
    const streams = followers.map(collect);
    leader.finish(null);
    for (const s of await Promise.all(streams)) expect(s).toEqual([]);
    for (const f of followers) expect(await f.done).toBeNull();
    expect(inflight.join("k").role).toBe("leader");
  });

  it("ends followers after the partial events when the leader fails midway", async () => {
    const inflight = new InflightRequests();
    const leader = asLeader(inflight.join("k"));
    const follower = asFollower(inflight.join("k"));
    const got = collect(follower);
    for (const e of stream.slice(0, 3)) leader.publish(e);
    leader.finish(null);
    expect(await got).toEqual(stream.slice(0, 3));
    expect(await follower.done).toBeNull();
  });

  it("ignores what a leader publishes after it finished, and a second finish", async () => {
    const inflight = new InflightRequests();
    const leader = asLeader(inflight.join("k"));
    const follower = asFollower(inflight.join("k"));
    const got = collect(follower);
    leader.publish(stream[0]!);
    leader.finish(answer);
    leader.publish(stream[1]!);
    leader.finish(null);
    expect(await got).toEqual([stream[0]]);
    expect(await follower.done).toBe(answer);
  });

  it("stops taking followers once the buffer is full; the next request leads its own call while the first still serves its followers", async () => {
    const inflight = new InflightRequests({ maxBufferChars: 1000 });
    const leader = asLeader(inflight.join("k"));
    const early = asFollower(inflight.join("k"));
    const got = collect(early);
    for (const e of stream) leader.publish(e); // ~4 KB of SSE
    const second = asLeader(inflight.join("k"));
    expect(inflight.join("k").role).toBe("follower"); // of the second call
    leader.finish(answer);
    expect((await got).join("")).toBe(stream.join(""));
    // The first leader's finish must not free the second call's key.
    expect(inflight.join("k").role).toBe("follower");
    second.finish(null);
    expect(inflight.size).toBe(0);
  });

  it("detaches a follower that stops reading", async () => {
    const inflight = new InflightRequests();
    const leader = asLeader(inflight.join("k"));
    const follower = asFollower(inflight.join("k"));
    leader.publish(stream[0]!);
    leader.publish(stream[1]!);
    const seen: string[] = [];
    for await (const e of follower.events()) {
      seen.push(e);
      break;
    }
    leader.publish(stream[2]!);
    leader.finish(answer);
    expect(seen).toEqual([stream[0]]);
    expect(await follower.done).toBe(answer);
  });

  it("fails a leader that never finishes after leaderTimeoutMs, so followers fall back", async () => {
    const inflight = new InflightRequests({ leaderTimeoutMs: 50 });
    asLeader(inflight.join("k"));
    const follower = asFollower(inflight.join("k"));
    expect(await follower.done).toBeNull();
    expect(inflight.join("k").role).toBe("leader");
  });
});

describe("inflightKey", () => {
  it("coalesces only requests that want the answer delivered the same way", () => {
    const keys = [
      inflightKey("k", { stream: false, includeUsage: false }),
      inflightKey("k", { stream: true, includeUsage: false }),
      inflightKey("k", { stream: true, includeUsage: true }),
    ];
    expect(new Set(keys).size).toBe(3);
    expect(inflightKey("k", { stream: false, includeUsage: true })).toBe(keys[0]);
  });
});
