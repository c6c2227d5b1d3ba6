/**
 * Analytics query latency on a seeded log:
 *   pnpm --filter @switchyard/dashboard bench:analytics [--requests 5000000] [--runs 7] [--reuse]
 * Seeds its own database (switchyard_bench_dashboard, committed migrations applied as the
 * tests do) with `--requests` request_logs rows over 90 days, 20 teams, 200 keys, 15
 * models (one unpriced), 500 end users and two tags, all with generate_series; builds the
 * matching usage_rollups and attribution_rollups with INSERT … SELECT aggregates, as the
 * worker would have; then times every analytics query function (the ones the pages call)
 * and the request explorer's first page, and prints p50 / max in ms. `--reuse` keeps an
 * already seeded database of the same size.
 */
import { parseArgs } from "node:util";
import { LATENCY_BUCKETS_MS } from "@switchyard/contracts";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  analyticsBreakdown,
  analyticsSavings,
  analyticsSummary,
  analyticsTagDimensions,
  analyticsTimeseries,
  type GroupBy,
} from "../src/server/analytics";
import { createCaller } from "../src/server/root";
import { createContextForUser } from "../src/server/trpc";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "5000000" },
    runs: { type: "string", default: "7" },
    reuse: { type: "boolean", default: false },
  },
});
const REQUESTS = Math.min(Math.max(Number(values.requests), 1000), 20_000_000);
const RUNS = Math.min(Math.max(Number(values.runs), 1), 50);
const TEAMS = 20;
const KEYS = 200;
const MODELS = 15;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const to = new Date(Math.floor(Date.now() / HOUR) * HOUR + HOUR);
const from90 = new Date(to.getTime() - 90 * DAY);

function log(msg: string) {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const v = await fn();
  log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return v;
}

async function seed(db: PrismaClient): Promise<void> {
  await truncateAll(db);
  await db.$executeRaw`INSERT INTO "organizations" ("id", "slug", "name", "updatedAt") VALUES ('bench-org', 'bench', 'Bench Org', now())`;
  await db.$executeRaw`
    INSERT INTO "teams" ("id", "orgId", "slug", "name", "updatedAt")
    SELECT 'bench-team-' || t, 'bench-org', 'team-' || t, 'Team ' || t, now() FROM generate_series(0, ${TEAMS - 1}) t`;
  await db.$executeRaw`
    INSERT INTO "virtual_keys" ("id", "orgId", "teamId", "name", "keyHash", "prefix", "updatedAt")
    SELECT 'bench-key-' || k, 'bench-org', 'bench-team-' || (k % ${TEAMS}), 'key-' || k,
      md5('bench-key-' || k) || md5('x' || k), 'sk-sy-b' || lpad(k::text, 4, '0'), now()
    FROM generate_series(0, ${KEYS - 1}) k`;
  await db.$executeRaw`
    INSERT INTO "users" ("id", "email", "name", "emailVerified", "updatedAt")
    VALUES ('bench-admin', 'admin@bench.test', 'Bench Admin', true, now())`;
  await db.$executeRaw`
    INSERT INTO "memberships" ("id", "userId", "orgId", "teamId", "role")
    VALUES ('bench-admin-m', 'bench-admin', 'bench-org', NULL, 'ORG_ADMIN')`;

  // Each key uses two models; model 14 has no price (cost NULL, flagged as unpriced).
  // Every 10th request is a cache hit (cost 0, saved = what it would have cost), every
  // 4th was routed to a cheaper model (requested cost 1.5×), every 50th failed (502).
  const CHUNK = 1_000_000;
  for (let start = 1; start <= REQUESTS; start += CHUNK) {
    const end = Math.min(start + CHUNK - 1, REQUESTS);
    await timed(`request_logs ${start}–${end}`, () => db.$executeRaw`
      INSERT INTO "request_logs" ("requestId", "createdAt", "orgId", "teamId", "virtualKeyId", "endUser", "tags",
        "endpoint", "requestedModel", "servedModel", "provider", "inputTokens", "outputTokens", "usageSource",
        "costNanoUsd", "requestedCostNanoUsd", "cacheStatus", "status", "errorClass", "latencyMs", "ttftMs", "stream")
      SELECT 'bench-' || g, c.created, 'bench-org', 'bench-team-' || (c.k % ${TEAMS}), 'bench-key-' || c.k,
        'user-' || (g % 500),
        jsonb_build_object('env', CASE WHEN g % 3 = 0 THEN 'dev' ELSE 'prod' END, 'feature', 'feature-' || (g % 12)),
        'chat.completions', 'model-' || c.m, 'model-' || c.m, 'provider-' || (c.m % 3), c.inp, c.outp, 'provider',
        CASE WHEN c.m = 14 OR c.status >= 400 THEN NULL WHEN c.hit THEN 0 ELSE c.cost END,
        CASE WHEN c.m = 14 OR c.status >= 400 THEN NULL WHEN g % 4 = 0 THEN c.cost * 3 / 2 ELSE c.cost END,
        CASE WHEN c.hit THEN 'hit' ELSE 'miss' END, c.status, CASE WHEN c.status >= 400 THEN 'upstream_5xx' END,
        c.lat, CASE WHEN g % 2 = 0 THEN c.lat / 4 END, g % 2 = 0
      FROM generate_series(${start}::bigint, ${end}::bigint) g,
      LATERAL (SELECT
        ${from90}::timestamptz + (g::float8 / ${REQUESTS}::float8) * interval '90 days' AS created,
        (g * 7919) % ${KEYS} AS k,
        (((g * 7919) % ${KEYS}) + (g % 2) * 5) % ${MODELS} AS m,
        (100 + g % 900)::int AS inp, (20 + g % 300)::int AS outp,
        ((100 + g % 900) * 150 + (20 + g % 300) * 600)::bigint * (1 + ((((g * 7919) % ${KEYS}) + (g % 2) * 5) % ${MODELS}) % 4) AS cost,
        g % 10 = 0 AS hit, CASE WHEN g % 50 = 0 THEN 502 ELSE 200 END AS status,
        (40 + (g * 37) % 2500 + CASE WHEN g % 97 = 0 THEN 20000 ELSE 0 END)::int AS lat) c`);
  }

  const bounds = `ARRAY[${LATENCY_BUCKETS_MS.join(",")}]::int[]`;
  const hist = (col: string) =>
    `ARRAY[${Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => `count(*) FILTER (WHERE width_bucket(${col} - 1, ${bounds}) = ${i})::int`).join(", ")}]`;
  await timed("usage_rollups", () => db.$executeRawUnsafe(`
    INSERT INTO "usage_rollups" ("bucket", "orgId", "teamId", "virtualKeyId", "model", "provider",
      "requests", "errors", "cacheHits", "unpricedRequests", "estimatedRequests", "inputTokens", "outputTokens",
      "costNanoUsd", "requestedCostNanoUsd", "cacheSavedNanoUsd", "latencyMsSum", "ttftMsSum", "ttftCount",
      "latencyHist", "ttftHist")
    SELECT date_trunc('hour', "createdAt"), "orgId", "teamId", "virtualKeyId", coalesce("servedModel", "requestedModel"),
      coalesce("provider", ''), count(*), count(*) FILTER (WHERE "status" >= 400),
      count(*) FILTER (WHERE "cacheStatus" = 'hit'),
      count(*) FILTER (WHERE "costNanoUsd" IS NULL AND "status" < 400),
      count(*) FILTER (WHERE "usageSource" = 'estimated'),
      sum("inputTokens"), sum("outputTokens"), coalesce(sum("costNanoUsd"), 0),
      coalesce(sum("requestedCostNanoUsd"), 0),
      coalesce(sum("requestedCostNanoUsd") FILTER (WHERE "cacheStatus" = 'hit'), 0),
      sum("latencyMs"), coalesce(sum("ttftMs"), 0), count("ttftMs"),
      ${hist(`"latencyMs"`)}, ${hist(`"ttftMs"`)}
    FROM "request_logs" GROUP BY 1, 2, 3, 4, 5, 6`));
  const attributionSelect = (dimension: string, value: string, from: string) => `
    INSERT INTO "attribution_rollups" ("bucket", "orgId", "teamId", "dimension", "value", "requests", "errors",
      "unpricedRequests", "inputTokens", "outputTokens", "costNanoUsd")
    SELECT date_trunc('hour', "createdAt"), "orgId", "teamId", ${dimension}, ${value}, count(*),
      count(*) FILTER (WHERE "status" >= 400), count(*) FILTER (WHERE "costNanoUsd" IS NULL AND "status" < 400),
      sum("inputTokens"), sum("outputTokens"), coalesce(sum("costNanoUsd"), 0)
    FROM ${from} GROUP BY 1, 2, 3, 4, 5`;
  await timed("attribution_rollups (user)", () =>
    db.$executeRawUnsafe(attributionSelect(`'user'`, `"endUser"`, `"request_logs" WHERE "endUser" IS NOT NULL`)),
  );
  await timed("attribution_rollups (tags)", () =>
    db.$executeRawUnsafe(
      attributionSelect(`'tag:' || t.key`, `t.value`, `"request_logs", jsonb_each_text("tags") t`),
    ),
  );
  await timed("analyze", () => db.$executeRawUnsafe(`ANALYZE`));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

async function main() {
  const url = await prepareTestDatabase("switchyard_bench_dashboard");
  const db = createPrismaClient(url);
  try {
    const have = Number(
      (await db.$queryRaw<{ n: bigint }[]>`SELECT count(*)::bigint AS n FROM "request_logs"`)[0]?.n ?? 0n,
    );
    if (!values.reuse || have !== REQUESTS) {
      log(`seeding ${REQUESTS.toLocaleString("en-US")} requests…`);
      await seed(db);
    }
    const counts = await db.$queryRaw<{ logs: bigint; usage: bigint; attribution: bigint }[]>`
      SELECT (SELECT count(*) FROM "request_logs")::bigint AS logs,
        (SELECT count(*) FROM "usage_rollups")::bigint AS usage,
        (SELECT count(*) FROM "attribution_rollups")::bigint AS attribution`;
    const c = counts[0];
    log(`rows: request_logs ${c?.logs} · usage_rollups ${c?.usage} · attribution_rollups ${c?.attribution}`);

    const teamIds = Array.from({ length: TEAMS }, (_, t) => `bench-team-${t}`);
    const oneTeam = ["bench-team-3"];
    const r30 = { from: new Date(to.getTime() - 30 * DAY), to };
    const r90 = { from: from90, to };
    const r24h = { from: new Date(to.getTime() - DAY), to };
    const admin = createCaller(
      await createContextForUser(db, { id: "bench-admin", email: "admin@bench.test", name: "Bench Admin" }),
    );
    const cases: [string, () => Promise<unknown>][] = [
      ["overview summary 30d (all 20 teams)", () => analyticsSummary(db, teamIds, r30)],
      ["overview summary 30d (one team)", () => analyticsSummary(db, oneTeam, r30)],
      ["timeseries 24h hourly", () => analyticsTimeseries(db, teamIds, r24h, "hour")],
      ["timeseries 30d daily", () => analyticsTimeseries(db, teamIds, r30, "day")],
      ["timeseries 30d hourly", () => analyticsTimeseries(db, teamIds, r30, "hour")],
      ["timeseries 90d daily", () => analyticsTimeseries(db, teamIds, r90, "day")],
      ...(["team", "key", "model", "provider", "user", "tag:feature"] as GroupBy[]).map(
        (g): [string, () => Promise<unknown>] => [`breakdown by ${g} 30d`, () => analyticsBreakdown(db, teamIds, r30, g)],
      ),
      ["breakdown by model 90d", () => analyticsBreakdown(db, teamIds, r90, "model")],
      ["tag dimensions 30d", () => analyticsTagDimensions(db, teamIds, r30)],
      ["savings by team and month 90d", () => analyticsSavings(db, teamIds, r90)],
      ["request explorer first page, all 20 teams (usage.requests, 50 rows)", () => admin.usage.requests({ limit: 50 })],
      [
        "request explorer first page, one team",
        () => admin.usage.requests({ limit: 50, teamId: "bench-team-3" }),
      ],
    ];
    const results: { name: string; p50: number; max: number }[] = [];
    for (const [name, fn] of cases) {
      await fn(); // warm-up (plans, connection)
      const ms: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        await fn();
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      results.push({ name, p50: percentile(ms, 0.5), max: ms.at(-1) ?? 0 });
      log(`${name}: p50 ${percentile(ms, 0.5).toFixed(1)} ms, max ${(ms.at(-1) ?? 0).toFixed(1)} ms`);
    }
    process.stdout.write(`\n| query (${RUNS} runs after a warm-up) | p50 ms | max ms |\n| --- | ---: | ---: |\n`);
    for (const r of results) process.stdout.write(`| ${r.name} | ${r.p50.toFixed(1)} | ${r.max.toFixed(1)} |\n`);
  } finally {
    await db.$disconnect();
  }
}

await main();
