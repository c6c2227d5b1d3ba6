/**
 * Scale-out (issue 7): three proxy replicas and two workers, each its own process (the
 * built apps), on loopback against one Redis (a redis-server of this file's own) and one
 * Postgres (a database of its own), with the mock upstream as the provider. Under
 * concurrent load spread round-robin over the replicas, rate limits, hard budgets and
 * usage totals must come out exact, as if there were one proxy and one worker.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { startMockUpstream } from "@switchyard/mock-upstream";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { computeCostNanoUsd } from "@switchyard/pricing";
import { cli, freePort, jsonLines, proxyArgs, runConcurrently, startProcess, startRedisServer, waitFor, type Proc } from "./harness";

// Prices with fractions of a nano-dollar per token, so per-request rounding is exercised.
const PRICING = { inputPerMTok: "0.1537", outputPerMTok: "0.6071", cachedInputPerMTok: "0.0765" };
const MODEL = "scale-mini";
const REPLICAS = 3;
const WORKERS = 2;
const LIMITS_PREFIX = "sy-scaleout:";
/** Every request bounds its output, so a budget reservation is this request's true worst case. */
const MAX_TOKENS = 400;

let prisma: PrismaClient;
let redis: Redis;
let redisServer: Awaited<ReturnType<typeof startRedisServer>> | undefined;
let mock: Awaited<ReturnType<typeof startMockUpstream>> | undefined;
let tmp: string | undefined;
let proxies: Proc[] = [];
let workers: Proc[] = [];
let proxyUrls: string[] = [];
const keys: Record<"rpm" | "squadA" | "squadB" | "budget" | "load", { key: string; id: string }> = {} as never;
let budgetId: string;
let budgetLimit: bigint;
const RPM_LIMIT = 40;
const TEAM_RPM_LIMIT = 30;
/** Every request this file sent, by x-request-id: all of them must land in request_logs once. */
const sent = new Map<string, number>();

const allProcs = (): Proc[] => [...proxies, ...workers, ...(redisServer ? [redisServer.proc] : [])];

beforeAll(async () => {
  redisServer = await startRedisServer();
  redis = new Redis(redisServer.url);
  const databaseUrl = await prepareTestDatabase("switchyard_test_e2e_scaleout");
  prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  mock = await startMockUpstream({ port: 0, maxRecorded: 100 });
  tmp = mkdtempSync(path.join(os.tmpdir(), "switchyard-scaleout-"));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisServer.url,
    SWITCHYARD_ENCRYPTION_KEY: "5".repeat(64),
    SWITCHYARD_LIMITS_PREFIX: LIMITS_PREFIX,
    LOG_LEVEL: "warn",
  };
  const configFile = path.join(tmp, "switchyard.yaml");
  writeFileSync(
    configFile,
    `providers:
  - { id: mock-openai, type: openai, baseUrl: "${mock.url}", apiKey: "upstream-secret" }
models:
  - name: ${MODEL}
    provider: mock-openai
    upstreamModel: gpt-4o-mini
    pricing: { inputPerMTok: "${PRICING.inputPerMTok}", outputPerMTok: "${PRICING.outputPerMTok}", cachedInputPerMTok: "${PRICING.cachedInputPerMTok}" }
`,
  );
  await cli(["config", "apply", configFile], env);
  await cli(["orgs", "create", "scale"], env);
  await Promise.all(["limited", "squad", "spend", "load"].map((t) => cli(["teams", "create", t, "--org", "scale"], env)));
  const key = async (name: string, team: string, extra: string[] = []) => {
    const k = await cli<{ key: string; id: string }>(["keys", "create", "--team", team, "--org", "scale", "--name", name, ...extra], env);
    return { key: k.key, id: k.id };
  };
  const [rpm, squadA, squadB, budget, load] = await Promise.all([
    key("rpm", "limited", ["--rpm", String(RPM_LIMIT)]),
    key("squad-a", "squad"),
    key("squad-b", "squad"),
    // $0.02 a month: about 89 of the recorded replies.
    key("budget", "spend", ["--budget-usd", "0.02", "--budget-period", "month"]),
    key("load", "load"),
  ]);
  Object.assign(keys, { rpm, squadA, squadB, budget, load });
  // The CLI has no team-limit flag; the dashboard writes this column. Set before the proxies boot.
  await prisma.team.updateMany({ where: { slug: "squad" }, data: { rpmLimit: TEAM_RPM_LIMIT } });
  const budgetRow = await prisma.budget.findFirstOrThrow({ where: { virtualKeyId: budget.id } });
  expect(budgetRow.hard).toBe(true);
  budgetId = budgetRow.id;
  budgetLimit = budgetRow.amountNanoUsd;
  expect(budgetLimit).toBe(20_000_000n);

  const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
  proxyUrls = ports.map((p) => `http://127.0.0.1:${p}`);
  proxies = ports.map((port, i) =>
    startProcess(`proxy-${i + 1}`, process.execPath, proxyArgs, {
      ...env,
      PROXY_PORT: String(port),
      PROXY_HOST: "127.0.0.1",
      PROXY_SPOOL_DIR: path.join(tmp!, `spool-${i + 1}`),
      // Exactness must not depend on a slow CI box: a limits call that times out would be
      // served unchecked (fail-open). Give Redis ample time and refuse (503) if it ever fails.
      PROXY_LIMITS_TIMEOUT_MS: "10000",
      PROXY_LIMITS_FAIL_MODE: "closed",
    }),
  );
  workers = Array.from({ length: WORKERS }, (_, i) =>
    startProcess(`worker-${i + 1}`, process.execPath, ["apps/worker/dist/main.js"], {
      ...env,
      // debug: each committed batch is logged with its counts, which shows who did the work.
      LOG_LEVEL: "debug",
      WORKER_BATCH_SIZE: "50",
      WORKER_BATCH_WAIT_MS: "50",
      WORKER_RETENTION_INTERVAL_MS: "3600000",
    }),
  );
  for (const url of proxyUrls) await waitFor(`${url} ready`, async () => (await fetch(`${url}/readyz`)).ok, 60_000, allProcs());
  for (const w of workers) await waitFor(`${w.name} ready`, () => Promise.resolve(w.output().includes('"worker ready"')), 60_000, allProcs());
});

afterAll(async () => {
  await Promise.all([...proxies, ...workers].map((p) => p.stop()));
  await mock?.close();
  redis?.disconnect();
  await redisServer?.proc.stop();
  await prisma?.$disconnect();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  completion_tokens_details?: { reasoning_tokens?: number } | null;
}
interface OpenAiError {
  message: string;
  type: string;
  code: string | null;
  param: string | null;
}
interface Outcome {
  replica: number;
  status: number;
  requestId: string;
  stream: boolean;
  usage: OpenAiUsage | null;
  error: OpenAiError | null;
  /** x-switchyard-cost-usd (non-streaming answers). */
  costHeader: string | null;
  retryAfter: string | null;
}

type Kind = "json" | "stream" | "json-tools" | "stream-tools";
const TOOLS = [
  {
    type: "function",
    function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
  },
];

/** One chat completion through replica `replica`, as a plain HTTP client sees it. */
async function send(replica: number, apiKey: string, kind: Kind, prompt: string): Promise<Outcome> {
  const stream = kind === "stream" || kind === "stream-tools";
  const body: Record<string, unknown> = {
    model: MODEL,
    // Every prompt is unique: nothing may be answered from a cache or coalesced.
    messages: [{ role: "user", content: prompt }],
    max_tokens: MAX_TOKENS,
  };
  if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  if (kind.endsWith("tools")) body.tools = TOOLS;
  const res = await fetch(`${proxyUrls[replica]}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const requestId = res.headers.get("x-request-id");
  if (!requestId) throw new Error(`no x-request-id on a ${res.status} from replica ${replica + 1}: ${text.slice(0, 300)}`);
  if (sent.has(requestId)) throw new Error(`x-request-id ${requestId} given twice`);
  sent.set(requestId, res.status);
  const out: Outcome = {
    replica,
    status: res.status,
    requestId,
    stream,
    usage: null,
    error: null,
    costHeader: res.headers.get("x-switchyard-cost-usd"),
    retryAfter: res.headers.get("retry-after"),
  };
  if (res.status !== 200) {
    out.error = (JSON.parse(text) as { error: OpenAiError }).error;
    return out;
  }
  if (!stream) {
    out.usage = (JSON.parse(text) as { usage: OpenAiUsage }).usage;
    return out;
  }
  const events = text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6));
  if (events.at(-1) !== "[DONE]") throw new Error(`stream from replica ${replica + 1} did not end with [DONE]: ${text.slice(-300)}`);
  for (const e of events.slice(0, -1)) {
    const chunk = JSON.parse(e) as { usage?: OpenAiUsage | null; error?: OpenAiError };
    if (chunk.error) out.error = chunk.error;
    if (chunk.usage) out.usage = chunk.usage;
  }
  return out;
}

/** What a reply with this usage must cost at this file's price, worked out here (nano-USD). */
function expectedCost(u: OpenAiUsage): bigint {
  return computeCostNanoUsd(
    {
      inputTokens: u.prompt_tokens,
      outputTokens: u.completion_tokens,
      cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
      cacheWriteTokens: 0,
      reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
    },
    PRICING,
  );
}

/** "0.000220200" → nano-USD, exactly. */
function toNano(usd: string): bigint {
  const [whole = "0", frac = ""] = usd.split(".");
  return BigInt(whole) * 1_000_000_000n + BigInt(frac.padEnd(9, "0").slice(0, 9));
}

function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.status === 200 ? "200" : `${o.status} ${o.error?.code ?? "?"}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

function expectOpenAiError(o: Outcome, code: string, type: string): void {
  expect(o.error, `replica ${o.replica + 1} answered ${o.status}`).toMatchObject({ code, type });
  expect(Object.keys(o.error!).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof o.error!.message).toBe("string");
  expect(Number(o.retryAfter)).toBeGreaterThanOrEqual(1);
}

/** Waits until the workers have written a row for every request sent so far, and checks none was lost or failed. */
async function drained(): Promise<void> {
  await waitFor(
    `request_logs rows for all ${sent.size} requests`,
    async () => (await prisma.requestLog.count()) === sent.size && (await redis.llen("bull:usage:wait")) === 0 && (await redis.llen("bull:usage:active")) === 0,
    60_000,
    allProcs(),
  );
  expect(await redis.zcard("bull:usage:failed")).toBe(0);
}

/** The outcomes of a burst must be spread over every replica. */
function expectAllReplicasServed(outcomes: readonly Outcome[]): void {
  for (let r = 0; r < REPLICAS; r++) expect(outcomes.filter((o) => o.replica === r && o.status === 200).length, `successes on replica ${r + 1}`).toBeGreaterThan(0);
}

async function logRows(virtualKeyIds: string[]) {
  return prisma.requestLog.findMany({ where: { virtualKeyId: { in: virtualKeyIds } } });
}

describe("three proxy replicas and two workers behave as one", () => {
  it("lets exactly a key's rpm through a burst spread over all replicas; the rest get OpenAI's 429", async () => {
    const started = Date.now();
    const outcomes = await runConcurrently(3 * RPM_LIMIT, 16, (i) => send(i % REPLICAS, keys.rpm.key, i % 2 ? "stream" : "json", `rpm burst ${i}`));
    const elapsed = Date.now() - started;
    console.log(`[scale-out] key rpm ${RPM_LIMIT}: ${JSON.stringify(tally(outcomes))} in ${elapsed} ms`);
    // The whole burst sits in one 60-s window, so the limit is the exact answer.
    expect(elapsed).toBeLessThan(45_000);
    const ok = outcomes.filter((o) => o.status === 200);
    const limited = outcomes.filter((o) => o.status === 429);
    expect(ok.length).toBe(RPM_LIMIT);
    expect(limited.length).toBe(2 * RPM_LIMIT);
    expectAllReplicasServed(outcomes);
    for (const o of limited) {
      expectOpenAiError(o, "rate_limit_exceeded", "rate_limit_error");
      expect(o.error!.message).toContain(`${RPM_LIMIT} requests per minute`);
    }
    // Refused requests are logged too (status 429), each once, never billed.
    await drained();
    const rows = await logRows([keys.rpm.id]);
    expect(rows.length).toBe(outcomes.length);
    expect(new Set(rows.map((r) => r.requestId))).toEqual(new Set(outcomes.map((o) => o.requestId)));
    expect(rows.filter((r) => r.status === 200).length).toBe(RPM_LIMIT);
    expect(rows.filter((r) => r.status === 429).every((r) => r.costNanoUsd === 0n || r.costNanoUsd === null)).toBe(true);
  });

  it("holds a team's rpm over two of its keys and all replicas", async () => {
    const outcomes = await runConcurrently(3 * TEAM_RPM_LIMIT, 16, (i) =>
      send(i % REPLICAS, (i >> 1) % 2 ? keys.squadA.key : keys.squadB.key, "json", `team burst ${i}`),
    );
    console.log(`[scale-out] team rpm ${TEAM_RPM_LIMIT}: ${JSON.stringify(tally(outcomes))}`);
    expect(outcomes.filter((o) => o.status === 200).length).toBe(TEAM_RPM_LIMIT);
    const limited = outcomes.filter((o) => o.status === 429);
    expect(limited.length).toBe(2 * TEAM_RPM_LIMIT);
    for (const o of limited) {
      expectOpenAiError(o, "rate_limit_exceeded", "rate_limit_error");
      expect(o.error!.message).toContain("team 'squad'");
    }
    expectAllReplicasServed(outcomes);
  });

  it("never lets a hard budget be overspent, and Redis and Postgres agree on the spend", async () => {
    // Concurrent load over all replicas, about 1.7× what the budget can pay for.
    const burst = await runConcurrently(150, 16, (i) => send(i % REPLICAS, keys.budget.key, i % 3 === 2 ? "stream" : "json", `budget burst ${i}`));
    // Then one request at a time until one is refused with nothing else in flight.
    const serial: Outcome[] = [];
    for (let i = 0; i < 20; i++) {
      const o = await send(i % REPLICAS, keys.budget.key, "json", `budget probe ${i}`);
      serial.push(o);
      if (o.status !== 200) break;
    }
    const outcomes = [...burst, ...serial];
    const ok = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const o of refused) {
      expect(o.status).toBe(429);
      expectOpenAiError(o, "budget_exceeded", "insufficient_quota");
      expect(o.error!.message).toMatch(/hard monthly budget of \$0\.02/);
    }
    expect(serial.at(-1)!.status).toBe(429);
    expectAllReplicasServed(outcomes);

    await drained();
    const rows = await logRows([keys.budget.id]);
    // Every answer the clients got has exactly one row, under its request id.
    expect(rows.length).toBe(outcomes.length);
    const byId = new Map(rows.map((r) => [r.requestId, r]));
    expect(byId.size).toBe(rows.length);
    for (const o of ok) {
      const row = byId.get(o.requestId);
      expect(row, `row of ${o.requestId}`).toBeDefined();
      expect(row!.status).toBe(200);
      expect(row!.costNanoUsd).toBe(expectedCost(o.usage!));
    }
    const pgSpend = rows.reduce((s, r) => s + (r.costNanoUsd ?? 0n), 0n);
    const clientSpend = ok.reduce((s, o) => s + expectedCost(o.usage!), 0n);
    expect(pgSpend).toBe(clientSpend);
    expect(pgSpend).toBeLessThanOrEqual(budgetLimit);
    // The final refusal came with nothing in flight, so it was not premature: what is left
    // is less than one request's worst case (≤ 200 input tokens estimated + MAX_TOKENS out).
    const worstCase = computeCostNanoUsd({ inputTokens: 200, outputTokens: MAX_TOKENS, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, PRICING);
    expect(budgetLimit - pgSpend).toBeLessThan(worstCase);

    // Once every reservation is settled, the Redis counter the proxies enforce is the Postgres sum.
    const [spentKey] = await redis.keys(`${LIMITS_PREFIX}budget:${budgetId}:*:spent`);
    expect(spentKey).toBeDefined();
    const reservedKey = spentKey!.replace(/:spent$/, ":reserved");
    await waitFor("every budget reservation settled", async () => Number((await redis.get(reservedKey)) ?? "0") === 0, 30_000, allProcs());
    expect(await redis.hlen(spentKey!.replace(/:spent$/, ":resv"))).toBe(0);
    expect(BigInt((await redis.get(spentKey!)) ?? "0")).toBe(pgSpend);
    console.log(
      `[scale-out] budget ${budgetLimit} nano-USD: ${outcomes.length} requests, ${ok.length} served, ${refused.length} refused (429 budget_exceeded); ` +
        `spend ${pgSpend} in Postgres = Redis; headroom ${budgetLimit - pgSpend} < worst case ${worstCase}`,
    );
  });

  it("records usage totals exactly under mixed load over all replicas, with both workers consuming", async () => {
    const TOTAL = 900;
    const kinds: Kind[] = ["json", "stream", "json", "stream", "json-tools", "stream-tools"];
    const started = Date.now();
    const outcomes = await runConcurrently(TOTAL, 24, (i) => send(i % REPLICAS, keys.load.key, kinds[i % kinds.length]!, `load ${i}`));
    const loadMs = Date.now() - started;
    expect(tally(outcomes)).toEqual({ "200": TOTAL });
    expectAllReplicasServed(outcomes);
    for (const o of outcomes) {
      expect(o.error, `request ${o.requestId}`).toBeNull();
      expect(o.usage, `usage of ${o.requestId}`).not.toBeNull();
      // The cost header of a JSON answer is the independently computed price.
      if (!o.stream) expect(toNano(o.costHeader!)).toBe(expectedCost(o.usage!));
    }
    // The mix really is mixed: several different usages.
    expect(new Set(outcomes.map((o) => `${o.usage!.prompt_tokens}/${o.usage!.completion_tokens}`)).size).toBeGreaterThanOrEqual(3);

    await drained();
    const drainMs = Date.now() - started - loadMs;
    const rows = await logRows([keys.load.id]);
    expect(rows.length).toBe(TOTAL);
    expect(new Set(rows.map((r) => r.requestId))).toEqual(new Set(outcomes.map((o) => o.requestId)));
    const byId = new Map(rows.map((r) => [r.requestId, r]));
    let inTok = 0;
    let outTok = 0;
    let cost = 0n;
    for (const o of outcomes) {
      const row = byId.get(o.requestId)!;
      expect(row).toMatchObject({
        status: 200,
        stream: o.stream,
        inputTokens: o.usage!.prompt_tokens,
        outputTokens: o.usage!.completion_tokens,
        costNanoUsd: expectedCost(o.usage!),
      });
      inTok += o.usage!.prompt_tokens;
      outTok += o.usage!.completion_tokens;
      cost += expectedCost(o.usage!);
    }
    const sums = await prisma.requestLog.aggregate({
      where: { virtualKeyId: keys.load.id },
      _sum: { inputTokens: true, outputTokens: true, costNanoUsd: true },
      _count: { _all: true },
    });
    expect(sums._count._all).toBe(TOTAL);
    expect(sums._sum.inputTokens).toBe(inTok);
    expect(sums._sum.outputTokens).toBe(outTok);
    expect(sums._sum.costNanoUsd).toBe(cost);

    // The hourly rollups add up to the same totals as the log.
    const rollups = await prisma.usageRollup.findMany({ where: { virtualKeyId: keys.load.id } });
    expect(rollups.length).toBeGreaterThan(0);
    expect(rollups.reduce((s, r) => s + r.requests, 0)).toBe(TOTAL);
    expect(rollups.reduce((s, r) => s + r.errors, 0)).toBe(0);
    expect(rollups.reduce((s, r) => s + r.inputTokens, 0n)).toBe(BigInt(inTok));
    expect(rollups.reduce((s, r) => s + r.outputTokens, 0n)).toBe(BigInt(outTok));
    expect(rollups.reduce((s, r) => s + r.costNanoUsd, 0n)).toBe(cost);

    // Both workers took a share, and together they inserted every row of this file exactly once.
    const perWorker = workers.map((w) => {
      const batches = jsonLines(w).filter((l) => l.msg === "usage batch committed");
      return {
        batches: batches.length,
        inserted: batches.reduce((s, l) => s + Number(l.inserted), 0),
        duplicates: batches.reduce((s, l) => s + Number(l.duplicates), 0),
      };
    });
    for (const [i, w] of perWorker.entries()) expect(w.inserted, `rows inserted by worker-${i + 1}`).toBeGreaterThan(0);
    expect(perWorker.reduce((s, w) => s + w.inserted, 0)).toBe(await prisma.requestLog.count());
    expect(perWorker.reduce((s, w) => s + w.duplicates, 0)).toBe(0);
    console.log(
      `[scale-out] load: ${TOTAL} requests (JSON + streams, with and without tools) in ${loadMs} ms, drained ${drainMs} ms later; ` +
        `${inTok} in / ${outTok} out tokens, ${cost} nano-USD; per replica ${JSON.stringify([0, 1, 2].map((r) => outcomes.filter((o) => o.replica === r).length))}; ` +
        `workers ${JSON.stringify(perWorker)}`,
    );
  });
});
