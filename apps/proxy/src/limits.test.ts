/**
 * Rate limits and budgets on a running proxy: real Postgres (own database), real Redis
 * (DB 1, counters under a random prefix), the mock upstream as the provider.
 */
import { randomBytes } from "node:crypto";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import { generateVirtualKey } from "@switchyard/db";
import { periodEnd, periodStart, readBudget, requestsCounted, tokensCounted, type BudgetPeriod } from "@switchyard/limits";
import { call, redisForwarder, setupHarness, usageEventFor, waitFor, type Harness, type Reply } from "../test/harness";
import type { RunningProxy } from "./boot";
import { newRequestContext } from "./context";
import { createLogger } from "./logger";
import { ProxyMetrics } from "./metrics";
import { formatResetDuration, formatUsd, Limits, maxOutputTokensFor, periodBounds, worstCaseCostNanoUsd } from "./limits";
import type { ModelEntry } from "./snapshot";

let h: Harness;
let base: string;
let running: RunningProxy;
const prefix = `test:proxy-limits:${randomBytes(4).toString("hex")}:`;
const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];
// The mock's recorded replies: 16 in / 363 out (non-streaming), 1248 in / 10 out (stream), at $0.15 / $0.60 per MTok.
const CHAT_COST = 16 * 150 + 363 * 600;
const STREAM_COST = 1248 * 150 + 10 * 600;

let globex: { id: string };
let research: { id: string; orgId: string };

beforeAll(async () => {
  h = await setupHarness({ database: "switchyard_test_proxy_limits" });
  const started = await h.startProxy({ envOverrides: { SWITCHYARD_LIMITS_PREFIX: prefix } });
  base = started.url;
  running = started.running;
  // Budgets live in their own orgs, so the harness's "acme" keys stay free of any limit.
  globex = await h.prisma.organization.create({ data: { slug: "globex", name: "Globex", timeZone: "America/New_York" } });
  research = await h.prisma.team.create({ data: { orgId: globex.id, slug: "research", name: "Research" } });
});
afterAll(async () => h.close());

let seq = 0;
async function newTeam(orgId: string, extra: { slug?: string; rpmLimit?: number; tpmLimit?: number } = {}) {
  seq++;
  return h.prisma.team.create({ data: { orgId, slug: extra.slug ?? `team-${seq}`, name: `Team ${seq}`, rpmLimit: extra.rpmLimit, tpmLimit: extra.tpmLimit } });
}
async function newKey(team: { id: string; orgId: string }, extra: { name?: string; rpmLimit?: number; tpmLimit?: number } = {}) {
  seq++;
  const k = generateVirtualKey();
  const row = await h.prisma.virtualKey.create({
    data: { orgId: team.orgId, teamId: team.id, name: extra.name ?? `key-${seq}`, keyHash: k.hash, prefix: k.prefix, rpmLimit: extra.rpmLimit, tpmLimit: extra.tpmLimit },
  });
  return { key: k.key, id: row.id };
}
async function newBudget(data: { orgId: string; scope: "KEY" | "TEAM" | "ORG"; teamId?: string; virtualKeyId?: string; amountNanoUsd: bigint; period: "DAY" | "WEEK" | "MONTH"; hard: boolean }) {
  return h.prisma.budget.create({ data });
}
async function reload() {
  expect(await running.snapshot.reload()).toBe(true);
}

const chat = (key: string, body: Record<string, unknown> = {}) => call(`${base}/v1/chat/completions`, { key, body: { model: "gpt-4o-mini", messages, ...body } });
const anthropicMessages = (key: string) =>
  call(`${base}/v1/messages`, {
    headers: { "x-api-key": key, "anthropic-version": "2023-06-01" },
    body: { model: "gpt-4o-mini", max_tokens: 400, messages: [{ role: "user", content: "Hello" }] },
  });

function openAiError(r: Reply, status: number) {
  expect(r.status).toBe(status);
  return (r.json() as { error: { message: string; type: string; code: string; param: unknown } }).error;
}


function budgetNow(id: string, period: BudgetPeriod, timeZone: string) {
  return readBudget(h.redis, { id, periodStart: periodStart(period, timeZone, new Date()) }, { prefix });
}

describe("rate limits", () => {
  it("refuses the (N+1)th request of a key over its RPM with 429, retry-after and OpenAI's x-ratelimit headers", async () => {
    const team = await newTeam(h.orgId);
    const k = await newKey(team, { name: "batch-job", rpmLimit: 3 });
    await reload();
    const sentBefore = h.mock.requests.length;
    for (let i = 0; i < 3; i++) {
      const r = await chat(k.key);
      expect(r.status).toBe(200);
      expect(r.headers["x-ratelimit-limit-requests"]).toBe("3");
      expect(r.headers["x-ratelimit-remaining-requests"]).toBe(String(2 - i));
      expect(r.headers["x-ratelimit-reset-requests"]).toMatch(/^(\d+m)?\d+s$/);
      // No TPM limit anywhere: no token headers.
      expect(r.headers["x-ratelimit-limit-tokens"]).toBeUndefined();
    }
    const refused = await chat(k.key);
    const err = openAiError(refused, 429);
    expect(err).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    expect(err.message).toContain("key 'batch-job'");
    expect(err.message).toContain("3 requests per minute");
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(61);
    expect(refused.headers["x-ratelimit-limit-requests"]).toBe("3");
    expect(refused.headers["x-ratelimit-remaining-requests"]).toBe("0");
    expect(refused.headers["x-ratelimit-reset-requests"]).toMatch(/^(\d+m)?\d+s$/);
    // The refused request never reached the provider, and its usage event says why.
    expect(h.mock.requests.length - sentBefore).toBe(3);
    const ev = await usageEventFor(h.queue, String(refused.headers["x-request-id"]));
    expect(ev).toMatchObject({ status: 429, errorClass: "rate_limit_exceeded", virtualKeyId: k.id, costNanoUsd: "0" });
    expect((await call(`${base}/metrics`)).text).toMatch(/switchyard_proxy_limited_requests_total\{reason="rate_limit"\} [1-9]/);
  });

  it("counts a team's limit over all of its keys together and names the team", async () => {
    const team = await newTeam(h.orgId, { slug: "ranking", rpmLimit: 2 });
    const a = await newKey(team);
    const b = await newKey(team);
    await reload();
    expect((await chat(a.key)).status).toBe(200);
    const second = await chat(b.key);
    expect(second.status).toBe(200);
    expect(second.headers["x-ratelimit-remaining-requests"]).toBe("0");
    const err = openAiError(await chat(a.key), 429);
    expect(err.code).toBe("rate_limit_exceeded");
    expect(err.message).toContain("team 'ranking'");
    expect(err.message).toContain("2 requests per minute");
  });

  it("reports the tightest of key and team limits", async () => {
    const team = await newTeam(h.orgId, { rpmLimit: 50, tpmLimit: 900_000 });
    const k = await newKey(team, { rpmLimit: 10, tpmLimit: 1_000_000 });
    await reload();
    const r = await chat(k.key);
    expect(r.status).toBe(200);
    expect(r.headers["x-ratelimit-limit-requests"]).toBe("10");
    expect(r.headers["x-ratelimit-remaining-requests"]).toBe("9");
    expect(r.headers["x-ratelimit-limit-tokens"]).toBe("900000");
  });

  it("counts the input estimate against TPM up front, then corrects the window to the actual tokens", async () => {
    const team = await newTeam(h.orgId);
    const k = await newKey(team, { tpmLimit: 100_000 });
    await reload();
    const r = await chat(k.key);
    expect(r.status).toBe(200);
    expect(r.headers["x-ratelimit-limit-tokens"]).toBe("100000");
    const estimate = 100_000 - Number(r.headers["x-ratelimit-remaining-tokens"]);
    expect(estimate).toBeGreaterThan(0);
    expect(estimate).not.toBe(16 + 363);
    // After settle the window holds what the provider reported (16 in + 363 out), not the estimate.
    await waitFor(async () => (await tokensCounted(h.redis, "key", k.id, { prefix })) === 16 + 363, 3000, "the TPM correction");
    const next = await chat(k.key);
    expect(next.headers["x-ratelimit-remaining-tokens"]).toBe(String(100_000 - (16 + 363) - estimate));
  });

  it("refuses a request whose estimate alone exceeds the TPM limit, saying so", async () => {
    const team = await newTeam(h.orgId);
    const k = await newKey(team, { name: "tiny", tpmLimit: 5 });
    await reload();
    const r = await chat(k.key);
    const err = openAiError(r, 429);
    expect(err.message).toContain("key 'tiny'");
    expect(err.message).toContain("5 tokens per minute");
    expect(err.message).toContain("can never pass");
    expect(r.headers["x-ratelimit-limit-tokens"]).toBe("5");
  });

  it("limits embeddings by their counted input", async () => {
    const team = await newTeam(h.orgId);
    const k = await newKey(team, { tpmLimit: 1000 });
    await reload();
    const r = await call(`${base}/v1/embeddings`, { key: k.key, body: { model: "gpt-4o-mini", input: "The food was delicious and the waiter was friendly." } });
    expect(r.status).toBe(200);
    expect(r.headers["x-ratelimit-limit-tokens"]).toBe("1000");
    const estimate = 1000 - Number(r.headers["x-ratelimit-remaining-tokens"]);
    expect(estimate).toBeGreaterThan(5);
    expect(estimate).toBeLessThan(20);
  });

  it("answers /v1/messages with a 429 in Anthropic's error shape", async () => {
    const team = await newTeam(h.orgId);
    const k = await newKey(team, { name: "claude-code", rpmLimit: 1 });
    await reload();
    expect((await anthropicMessages(k.key)).status).toBe(200);
    const r = await anthropicMessages(k.key);
    expect(r.status).toBe(429);
    const body = r.json() as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("rate_limit_error");
    expect(body.error.message).toContain("key 'claude-code'");
    expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(r.headers["x-ratelimit-remaining-requests"]).toBe("0");
  });

  it("makes no Redis call at all for a key without limits or budgets", async () => {
    // A replica of its own: the shared one's limits connection still carries other tests'
    // background work (a lease retiring at its second's end, a settle), which would count here.
    const own = await h.startProxy({ envOverrides: { SWITCHYARD_LIMITS_PREFIX: prefix } });
    const ownChat = (key: string) => call(`${own.url}/v1/chat/completions`, { key, body: { model: "gpt-4o-mini", messages } });
    const redis = own.running.limitsRedis;
    const evalsha = vi.spyOn(redis, "evalsha");
    const evalScript = vi.spyOn(redis, "eval");
    const sendCommand = vi.spyOn(redis, "sendCommand");
    const calls = () => evalsha.mock.calls.length + evalScript.mock.calls.length + sendCommand.mock.calls.length;
    try {
      const r = await ownChat(h.keys.main);
      expect(r.status).toBe(200);
      expect(r.headers["x-ratelimit-limit-requests"]).toBeUndefined();
      await usageEventFor(h.queue, String(r.headers["x-request-id"])); // finalize (and any settle) has run
      expect(calls()).toBe(0);
      // The same spies do see a limited key's calls.
      const team = await newTeam(h.orgId);
      const k = await newKey(team, { rpmLimit: 100 });
      expect(await own.running.snapshot.reload()).toBe(true);
      expect((await ownChat(k.key)).status).toBe(200);
      expect(calls()).toBeGreaterThan(0);
    } finally {
      evalsha.mockRestore();
      evalScript.mockRestore();
      sendCommand.mockRestore();
    }
  });
});

describe("leases", () => {
  /** Sends `count` chats one after another within one second; returns their remaining-requests headers and the limits commands they cost. */
  async function burst(url: string, redisOf: RunningProxy, key: string, count: number) {
    const sendCommand = vi.spyOn(redisOf.limitsRedis, "sendCommand");
    try {
      // Start early in a second: the whole burst then fits in it (~2-5 ms a request).
      const left = 1000 - (Date.now() % 1000);
      if (left < 800) await new Promise((r) => setTimeout(r, left + 5));
      const remaining: number[] = [];
      for (let i = 0; i < count; i++) {
        const r = await call(`${url}/v1/chat/completions`, { key, body: { model: "gpt-4o-mini", messages } });
        expect(r.status).toBe(200);
        remaining.push(Number(r.headers["x-ratelimit-remaining-requests"]));
      }
      return { remaining, commands: sendCommand.mock.calls.length };
    } finally {
      sendCommand.mockRestore();
    }
  }

  it("admits a busy key's requests against leased headroom: a command per lease, headers as if one by one, totals exact after the second", async () => {
    const team = await newTeam(globex.id);
    const k = await newKey(team, { rpmLimit: 100_000, tpmLimit: 100_000_000 });
    const b = await newBudget({ orgId: globex.id, scope: "KEY", virtualKeyId: k.id, amountNanoUsd: 1_000_000_000_000n, period: "DAY", hard: true });
    await reload();
    const admissions = async () => {
      const text = (await call(`${base}/metrics`)).text;
      const of = (via: string) => Number(new RegExp(`switchyard_limits_admissions_total\\{via="${via}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
      return { lease: of("lease"), redis: of("redis") };
    };
    const before = await admissions();
    const { remaining, commands } = await burst(base, running, k.key, 40);
    // One admit of its own (the key's first request), 39 from leases.
    const after = await admissions();
    expect({ lease: after.lease - before.lease, redis: after.redis - before.redis }).toEqual({ lease: 39, redis: 1 });
    // The first request is admitted (and settled) on its own; the rest from leases of 2, 4,
    // 8, 16 and 32: each costs its admit, the TPM corrections sent when it is used up, and
    // its settle once its last request is over: 17 at most (a lease of an earlier test's key
    // may hand back its rest on the same connection meanwhile). One by one: 80.
    expect(commands).toBeLessThan(20);
    // Each request was told one fewer remaining than the one before, as with an admit each.
    expect(remaining).toEqual(Array.from({ length: 40 }, (_, i) => 100_000 - 1 - i));
    // Once the last lease's second is over, Redis holds exactly what the 40 requests used.
    await waitFor(async () => (await budgetNow(b.id, "day", "America/New_York")).reservedNanoUsd === 0n, 3000, "the leases' settles");
    expect(await requestsCounted(h.redis, "key", k.id, { prefix })).toBe(40);
    expect(await tokensCounted(h.redis, "key", k.id, { prefix })).toBe(40 * (16 + 363));
    expect((await budgetNow(b.id, "day", "America/New_York")).spentNanoUsd).toBe(40n * BigInt(CHAT_COST));
  });

  it("admits every request on its own with PROXY_LIMITS_LEASES=off", async () => {
    const off = await h.startProxy({ envOverrides: { SWITCHYARD_LIMITS_PREFIX: prefix, PROXY_LIMITS_LEASES: "off" } });
    const team = await newTeam(globex.id);
    const k = await newKey(team, { rpmLimit: 100_000 });
    expect(await off.running.snapshot.reload()).toBe(true);
    const { remaining, commands } = await burst(off.url, off.running, k.key, 20);
    expect(commands).toBeGreaterThanOrEqual(20);
    expect(remaining).toEqual(Array.from({ length: 20 }, (_, i) => 100_000 - 1 - i));
  });
});

describe("budgets", () => {
  it("blocks a key past its hard budget, naming it, its spend and when it resets in the org's time zone", async () => {
    const k = await newKey(research, { name: "reporting" });
    const b = await newBudget({ orgId: globex.id, scope: "KEY", virtualKeyId: k.id, amountNanoUsd: 300_000n, period: "DAY", hard: true });
    await reload();
    // Worst case of the first request: estimate × $0.15 + 400 × $0.60 per MTok ≈ $0.000243, which fits.
    const first = await chat(k.key, { max_tokens: 400 });
    expect(first.status).toBe(200);
    const ev = await usageEventFor(h.queue, String(first.headers["x-request-id"]));
    expect(ev.costNanoUsd).toBe(String(CHAT_COST));
    // Settled to exactly the recorded cost; nothing left reserved.
    await waitFor(async () => {
      const s = await budgetNow(b.id, "day", "America/New_York");
      return s.spentNanoUsd === BigInt(CHAT_COST) && s.reservedNanoUsd === 0n;
    }, 3000, "the settle");

    const sentBefore = h.mock.requests.length;
    const refused = await chat(k.key, { max_tokens: 400 });
    const now = Date.now();
    const err = openAiError(refused, 429);
    expect(err).toMatchObject({ type: "insufficient_quota", code: "budget_exceeded" });
    const resetsAt = periodEnd("day", "America/New_York", new Date());
    expect(err.message).toContain("key 'reporting'");
    expect(err.message).toContain("daily budget of $0.0003");
    expect(err.message).toContain("$0.0002202 is spent");
    expect(err.message).toContain(resetsAt.toISOString());
    expect(err.message).toContain("America/New_York");
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(Math.abs(retryAfter - (resetsAt.getTime() - now) / 1000)).toBeLessThan(5);
    expect(h.mock.requests.length).toBe(sentBefore);
    expect((await call(`${base}/metrics`)).text).toMatch(/switchyard_proxy_limited_requests_total\{reason="budget"\} [1-9]/);
  });

  it("blocks on a team's hard budget and names the team", async () => {
    const team = await newTeam(globex.id, { slug: "search" });
    const k = await newKey(team);
    await newBudget({ orgId: globex.id, scope: "TEAM", teamId: team.id, amountNanoUsd: 1000n, period: "WEEK", hard: true });
    await reload();
    const r = await chat(k.key);
    const err = openAiError(r, 429);
    expect(err.code).toBe("budget_exceeded");
    expect(err.message).toContain("team 'search'");
    expect(err.message).toContain("weekly budget of $0.000001");
    expect(err.message).toContain("$0.00 is spent");
    expect(err.message).toContain(periodEnd("week", "America/New_York", new Date()).toISOString());
  });

  it("blocks on an org's hard budget and names the org", async () => {
    const initech = await h.prisma.organization.create({ data: { slug: "initech", name: "Initech", timeZone: "Asia/Tokyo" } });
    const team = await newTeam(initech.id);
    const k = await newKey(team);
    await newBudget({ orgId: initech.id, scope: "ORG", amountNanoUsd: 1000n, period: "MONTH", hard: true });
    await reload();
    const err = openAiError(await chat(k.key), 429);
    expect(err.message).toContain("org 'initech'");
    expect(err.message).toContain("monthly budget");
    expect(err.message).toContain(periodEnd("month", "Asia/Tokyo", new Date()).toISOString());
    expect(err.message).toContain("Asia/Tokyo");
  });

  it("answers a budget refusal on /v1/messages in Anthropic's shape", async () => {
    const k = await newKey(research);
    await newBudget({ orgId: globex.id, scope: "KEY", virtualKeyId: k.id, amountNanoUsd: 1n, period: "DAY", hard: true });
    await reload();
    const r = await anthropicMessages(k.key);
    expect(r.status).toBe(429);
    const body = r.json() as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect(body.error.message).toContain("Budget exceeded");
    expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("never blocks on a soft budget, but counts the spend on it", async () => {
    const k = await newKey(research);
    const b = await newBudget({ orgId: globex.id, scope: "KEY", virtualKeyId: k.id, amountNanoUsd: 1n, period: "DAY", hard: false });
    await reload();
    expect((await chat(k.key)).status).toBe(200);
    expect((await chat(k.key)).status).toBe(200);
    await waitFor(async () => (await budgetNow(b.id, "day", "America/New_York")).spentNanoUsd === BigInt(2 * CHAT_COST), 3000, "both settles");
  });

  it("settles a stream to its recorded cost, and an aborted stream to its estimated cost, releasing the reservation", async () => {
    const k = await newKey(research);
    const b = await newBudget({ orgId: globex.id, scope: "KEY", virtualKeyId: k.id, amountNanoUsd: 1_000_000_000n, period: "MONTH", hard: true });
    await reload();
    const r = await chat(k.key, { stream: true });
    expect(r.status).toBe(200);
    const ev = await usageEventFor(h.queue, String(r.headers["x-request-id"]));
    expect(ev.costNanoUsd).toBe(String(STREAM_COST));
    await waitFor(async () => {
      const s = await budgetNow(b.id, "month", "America/New_York");
      return s.spentNanoUsd === BigInt(STREAM_COST) && s.reservedNanoUsd === 0n;
    }, 3000, "the stream's settle");

    h.mock.setFault("slow-stream:300");
    try {
      const controller = new AbortController();
      const res = await request(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages, stream: true }),
        signal: controller.signal,
      });
      const requestId = String(res.headers["x-request-id"]);
      await res.body[Symbol.asyncIterator]().next();
      // While the stream runs, its worst case is held against the budget.
      expect((await budgetNow(b.id, "month", "America/New_York")).reservedNanoUsd).toBeGreaterThan(0n);
      controller.abort();
      const aborted = await usageEventFor(h.queue, requestId);
      // No usage chunk arrived: the proxy estimates what the provider billed, and the budget gets exactly that.
      expect(aborted).toMatchObject({ status: 499, usageSource: "estimated" });
      const abortedCost = BigInt(aborted.costNanoUsd ?? "0");
      expect(abortedCost).toBeGreaterThan(0n);
      await waitFor(async () => (await budgetNow(b.id, "month", "America/New_York")).reservedNanoUsd === 0n, 3000, "the aborted stream's settle");
      expect((await budgetNow(b.id, "month", "America/New_York")).spentNanoUsd).toBe(BigInt(STREAM_COST) + abortedCost);
    } finally {
      h.mock.setFault(null);
    }
  });

  it("has settled a request by the time its client can send the next one, on the same replica or another", async () => {
    // A worst case W of ~6 M nano-USD (10,000 tokens out at $0.60/MTok, plus an input
    // estimate of at most 100 tokens) against actual costs of CHAT_COST (~0.2 M). The
    // budget fits three W-sized reservations only one at a time: request n+1 is admitted
    // only if request n's reservation has already become its actual cost.
    const MAX_TOKENS = 10_000;
    const limit = 2n * BigInt(CHAT_COST) + worstCaseCostNanoUsd({ inputPerMTok: "0.15", outputPerMTok: "0.60" }, 100, MAX_TOKENS);
    // A second replica on the same Redis and prefix (the harness shuts it down at the end).
    const second = await h.startProxy({ envOverrides: { SWITCHYARD_LIMITS_PREFIX: prefix } });
    for (const [label, bases] of [["one replica", [base, base]], ["two replicas", [base, second.url]]] as const) {
      const k = await newKey(research);
      const b = await newBudget({ orgId: globex.id, scope: "KEY", virtualKeyId: k.id, amountNanoUsd: limit, period: "MONTH", hard: true });
      await reload();
      expect(await second.running.snapshot.reload()).toBe(true);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await call(`${bases[i % 2]}/v1/chat/completions`, { key: k.key, body: { model: "gpt-4o-mini", messages, max_tokens: MAX_TOKENS } });
        statuses.push(r.status);
      }
      // Three fit once the earlier ones are settled; the fourth does not (3 × CHAT_COST + W > limit).
      expect(statuses, label).toEqual([200, 200, 200, 429]);
      await waitFor(async () => (await budgetNow(b.id, "month", "America/New_York")).reservedNanoUsd === 0n, 3000, "the settles");
      expect((await budgetNow(b.id, "month", "America/New_York")).spentNanoUsd, label).toBe(3n * BigInt(CHAT_COST));
    }
  });
});

describe("keys and Redis outages", () => {
  it("refuses a revoked key within 1 s of the config-changed notice", async () => {
    const team = await newTeam(h.orgId);
    const k = await newKey(team);
    await reload();
    expect((await chat(k.key)).status).toBe(200);
    await h.prisma.virtualKey.update({ where: { id: k.id }, data: { revokedAt: new Date() } });
    await h.redis.publish(CONFIG_CHANGED_CHANNEL, JSON.stringify({ kind: "virtual-key", id: k.id }));
    const r = await waitFor(async () => {
      const res = await chat(k.key);
      return res.status === 401 ? res : null;
    }, 1000, "the revoked key to be refused");
    expect(openAiError(r, 401).code).toBe("invalid_api_key");
  });

  it("fails open when Redis is unreachable (served, counted), or closed with 503 when configured so", async () => {
    const door = await redisForwarder();
    const limitsRedisUrl = `redis://127.0.0.1:${door.port}/1`;
    const open = await h.startProxy({ limitsRedisUrl, envOverrides: { SWITCHYARD_LIMITS_PREFIX: prefix } });
    const closed = await h.startProxy({ limitsRedisUrl, envOverrides: { SWITCHYARD_LIMITS_PREFIX: prefix, PROXY_LIMITS_FAIL_MODE: "closed" } });
    const team = await newTeam(h.orgId);
    const k = await newKey(team, { rpmLimit: 100 });
    await open.running.snapshot.reload();
    await closed.running.snapshot.reload();
    const through = await call(`${open.url}/v1/chat/completions`, { key: k.key, body: { model: "gpt-4o-mini", messages } });
    expect(through.headers["x-ratelimit-limit-requests"]).toBe("100");

    await door.stop();
    await waitFor(() => open.running.limitsRedis.status !== "ready" && closed.running.limitsRedis.status !== "ready", 3000, "the limits connections to drop");
    const served = await call(`${open.url}/v1/chat/completions`, { key: k.key, body: { model: "gpt-4o-mini", messages } });
    expect(served.status).toBe(200);
    expect(served.headers["x-ratelimit-limit-requests"]).toBeUndefined();
    expect((await call(`${open.url}/metrics`)).text).toMatch(/switchyard_limits_errors_total\{op="admit"\} [1-9]/);

    const refused = await call(`${closed.url}/v1/chat/completions`, { key: k.key, body: { model: "gpt-4o-mini", messages } });
    expect(openAiError(refused, 503).code).toBe("limits_unavailable");
    // A key without limits does not depend on Redis at all, even fail-closed.
    expect((await call(`${closed.url}/v1/chat/completions`, { key: h.keys.main, body: { model: "gpt-4o-mini", messages } })).status).toBe(200);
  });
});

describe("limits arithmetic", () => {
  it("formats resets like OpenAI's headers", () => {
    expect([0, 1, 59, 60, 61, 360, 3600, 3661].map(formatResetDuration)).toEqual(["0s", "1s", "59s", "1m0s", "1m1s", "6m0s", "1h0m0s", "1h1m1s"]);
    expect(formatResetDuration(0.2)).toBe("1s");
  });

  it("formats dollars with cents at least and no float", () => {
    expect([0n, 1n, 220_200n, 1_500_000_000n, 10_000_000_000n].map(formatUsd)).toEqual(["$0.00", "$0.000000001", "$0.0002202", "$1.50", "$10.00"]);
  });

  it("takes the worst-case output from the request, else the model, else the default, times n", () => {
    const model = { capabilities: {} } as unknown as ModelEntry;
    const capped = { capabilities: { maxOutputTokens: 16_384 } } as unknown as ModelEntry;
    expect(maxOutputTokensFor({}, model)).toBe(4096);
    expect(maxOutputTokensFor({}, capped)).toBe(16_384);
    expect(maxOutputTokensFor({ max_tokens: 100 }, capped)).toBe(100);
    expect(maxOutputTokensFor({ max_tokens: 100, max_completion_tokens: 50, n: 3 }, capped)).toBe(150);
  });

  it("keeps a budget period's bounds until the period ends, per zone and period", () => {
    const at = (iso: string) => new Date(iso);
    const day = periodBounds("day", "Asia/Tokyo", at("2026-03-10T14:59:59.999Z"));
    expect(day.start.toISOString()).toBe("2026-03-09T15:00:00.000Z");
    expect(day.end.toISOString()).toBe("2026-03-10T15:00:00.000Z");
    // The same period again: the same bounds; the instant it ends, the next period's.
    expect(periodBounds("day", "Asia/Tokyo", at("2026-03-10T03:00:00Z"))).toBe(day);
    expect(periodBounds("day", "Asia/Tokyo", at("2026-03-10T15:00:00Z")).start.toISOString()).toBe("2026-03-10T15:00:00.000Z");
    // Another period or zone never gets the cached one.
    expect(periodBounds("month", "Asia/Tokyo", at("2026-03-10T15:00:00Z")).start.toISOString()).toBe("2026-02-28T15:00:00.000Z");
    expect(periodBounds("day", "UTC", at("2026-03-10T15:00:00Z")).start.toISOString()).toBe("2026-03-10T00:00:00.000Z");
    // Back in time (a clock stepped back) is a miss too.
    expect(periodBounds("day", "Asia/Tokyo", at("2026-03-09T14:59:59Z")).start.toISOString()).toBe("2026-03-08T15:00:00.000Z");
  });

  it("prices the worst case at the dearest rates", () => {
    expect(worstCaseCostNanoUsd({ inputPerMTok: "0.15", outputPerMTok: "0.60" }, 100, 1000)).toBe(100n * 150n + 1000n * 600n);
    // Reasoning dearer than output, cache writes dearer than input: both taken.
    expect(worstCaseCostNanoUsd({ inputPerMTok: "1", outputPerMTok: "2", reasoningPerMTok: "8", cacheWritePerMTok: "1.25" }, 100, 10)).toBe(100n * 1250n + 10n * 8000n);
  });
});

describe("settles on their way at shutdown", () => {
  /** A Redis whose replies the test releases: each script call waits for release(). */
  function heldRedis() {
    const held: (() => void)[] = [];
    const redis = {
      sendCommand: () => new Promise((resolve) => held.push(() => resolve([[1]]))),
      evalsha: () => Promise.reject(new Error("unused")),
      eval: () => Promise.reject(new Error("unused")),
    };
    return { redis: redis as unknown as ConstructorParameters<typeof Limits>[0]["redis"], release: () => held.splice(0).forEach((r) => r()), held };
  }
  const settling = (id: string) => {
    const ctx = newRequestContext("POST", "/v1/chat/completions");
    ctx.limits = { tpmScopes: [], estimatedTokens: 0, countedAtMs: Date.now(), reservation: { reservationId: id, budgets: [{ id: "b1", periodStart: new Date(0) }] }, lease: null, settled: false };
    return ctx;
  };

  it("drain waits until every settle has its answer, and at most its bound", async () => {
    const { redis, release, held } = heldRedis();
    const metrics = new ProxyMetrics();
    const limits = new Limits({ redis, prefix: "t", failMode: "open", metrics, logger: createLogger("silent") });
    await limits.drain(); // nothing in flight: at once
    limits.settle(settling("r1"), 5n);
    limits.settle(settling("r2"), 5n);
    let drained = false;
    const draining = limits.drain(5000).then(() => (drained = true));
    await waitFor(() => held.length === 1, 2000, "the settles' script call");
    await new Promise((r) => setTimeout(r, 20));
    expect(drained).toBe(false);
    const releasedAt = Date.now();
    release();
    await draining;
    // On the answer, not on the 5 s bound.
    expect(Date.now() - releasedAt).toBeLessThan(1000);
    // A settle that never gets an answer holds shutdown back no longer than the bound.
    limits.settle(settling("r3"), 5n);
    const started = Date.now();
    await limits.drain(100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    release();
  });
});
