import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { clients, testPrefix } from "../test/redis";
import { deleteKeysWithPrefix } from "./maintenance";
import { consumeRateLimit, correctTokens, type RateLimitScope } from "./rate-limit";
import { rpmKey } from "./keys";

let redis: Redis[];
const prefix = testPrefix();
let n = 0;
/** Fresh ids per test so tests do not share windows. */
const id = (name: string) => `${name}-${++n}`;

beforeAll(() => {
  redis = clients(4);
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis[0]!, prefix);
  await Promise.all(redis.map((r) => r.quit()));
});

describe("consumeRateLimit", () => {
  it("admits exactly 60 of 200 concurrent requests against a 60 rpm key from 4 clients", async () => {
    const scopes: RateLimitScope[] = [{ scope: "key", id: id("k"), rpm: 60 }];
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => consumeRateLimit(redis[i % 4]!, scopes, { prefix })),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(60);
    const denied = results.filter((r) => !r.allowed);
    expect(denied).toHaveLength(140);
    for (const d of denied) {
      expect(d.deniedBy).toEqual({ scope: "key", id: scopes[0]!.id, limit: "rpm" });
      expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(d.retryAfterSeconds).toBeLessThanOrEqual(61);
      expect(d.remainingRequests).toBe(0);
    }
    const remaining = results.filter((r) => r.allowed).map((r) => r.remainingRequests).sort((a, b) => a! - b!);
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it("is all-or-nothing across scopes: a full team consumes nothing from the key", async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const key = { scope: "key", id: id("k"), rpm: 10 };
    const team = { scope: "team", id: id("t"), rpm: 2 };
    const r = redis[0]!;
    expect((await consumeRateLimit(r, [key, team], { prefix, nowMs: now })).allowed).toBe(true);
    expect((await consumeRateLimit(r, [key, team], { prefix, nowMs: now })).allowed).toBe(true);
    const third = await consumeRateLimit(r, [key, team], { prefix, nowMs: now + 1000 });
    expect(third.allowed).toBe(false);
    expect(third.deniedBy).toEqual({ scope: "team", id: team.id, limit: "rpm" });
    // the team's two requests leave the window at 12:01:31 (bucket of 12:00:30 + 61 s)
    expect(third.retryAfterSeconds).toBe(60);
    // the key alone saw only the 2 admitted requests
    const keyOnly = await consumeRateLimit(r, [key], { prefix, nowMs: now + 1000 });
    expect(keyOnly.remainingRequests).toBe(7);
    expect(await r.hgetall(rpmKey("key", key.id, now / 1000 - 30, { prefix }))).toEqual({
      [String(now / 1000)]: "2",
      [String(now / 1000 + 1)]: "1",
      t: "3", // the minute's running sum
    });
  });

  it("slides: a request is counted for 60-61 s, across the minute boundary, then forgotten", async () => {
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 50, 500);
    const s = [{ scope: "key", id: id("k"), rpm: 1 }];
    const r = redis[1]!;
    expect((await consumeRateLimit(r, s, { prefix, nowMs: t0 })).allowed).toBe(true);
    // next minute, 59.5 s later: still inside the window
    const inside = await consumeRateLimit(r, s, { prefix, nowMs: t0 + 59_500 });
    expect(inside.allowed).toBe(false);
    expect(inside.retryAfterSeconds).toBe(1); // bucket 12:00:50 leaves at 12:01:51.000, now is 12:01:50.000
    expect((await consumeRateLimit(r, s, { prefix, nowMs: t0 + 60_400 })).allowed).toBe(false);
    expect((await consumeRateLimit(r, s, { prefix, nowMs: t0 + 60_500 })).allowed).toBe(true);
  });

  it("reserves estimated tokens against TPM and corrects them by actual − estimate", async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 10);
    const key = { scope: "key", id: id("k"), tpm: 1000 };
    const team = { scope: "team", id: id("t"), tpm: 5000 };
    const r = redis[2]!;
    const first = await consumeRateLimit(r, [key, team], { prefix, nowMs: now, estimatedTokens: 600 });
    expect(first).toMatchObject({ allowed: true, remainingTokens: 400, remainingRequests: null });
    const second = await consumeRateLimit(r, [key, team], { prefix, nowMs: now, estimatedTokens: 600 });
    expect(second).toMatchObject({ allowed: false, deniedBy: { scope: "key", limit: "tpm" }, remainingTokens: 400 });
    // the call used only 100 tokens: give 500 back to both scopes
    await correctTokens(r, [key, team], 100 - 600, { prefix, nowMs: now + 2000 });
    const third = await consumeRateLimit(r, [key, team], { prefix, nowMs: now + 3000, estimatedTokens: 600 });
    expect(third).toMatchObject({ allowed: true, remainingTokens: 300 });
    // a call that used more than estimated pushes the window over: the next request waits
    await correctTokens(r, [key, team], 400, { prefix, nowMs: now + 4000 });
    const fourth = await consumeRateLimit(r, [key], { prefix, nowMs: now + 5000, estimatedTokens: 1 });
    expect(fourth).toMatchObject({ allowed: false, remainingTokens: 0 });
    // team window: 600 + 600 - 500 + 400 = 1100 used
    const teamOnly = await consumeRateLimit(r, [team], { prefix, nowMs: now + 5000, estimatedTokens: 0 });
    expect(teamOnly.remainingTokens).toBe(3900);
  });

  it("checks rpm and tpm together and reports reset seconds for the headers", async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0, 250);
    const s = [{ scope: "key", id: id("k"), rpm: 3, tpm: 100 }];
    const r = redis[3]!;
    const a = await consumeRateLimit(r, s, { prefix, nowMs: now, estimatedTokens: 10 });
    expect(a).toMatchObject({ allowed: true, remainingRequests: 2, remainingTokens: 90, resetRequestsSeconds: 61, resetTokensSeconds: 61 });
    const big = await consumeRateLimit(r, s, { prefix, nowMs: now, estimatedTokens: 200 });
    expect(big).toMatchObject({ allowed: false, deniedBy: { limit: "tpm" } });
    // the refused request consumed no request either
    const b = await consumeRateLimit(r, s, { prefix, nowMs: now, estimatedTokens: 10 });
    expect(b.remainingRequests).toBe(1);
  });

  it("rejects invalid limits and token counts", async () => {
    await expect(consumeRateLimit(redis[0]!, [{ scope: "key", id: "x", rpm: -1 }], { prefix })).rejects.toThrow(RangeError);
    await expect(consumeRateLimit(redis[0]!, [{ scope: "key", id: "x", tpm: 5 }], { prefix, estimatedTokens: 1.5 })).rejects.toThrow(RangeError);
    await expect(correctTokens(redis[0]!, [{ scope: "key", id: "x", tpm: 5 }], 0.5, { prefix })).rejects.toThrow(RangeError);
  });
});
