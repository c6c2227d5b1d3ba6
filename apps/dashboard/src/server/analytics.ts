import { TRPCError } from "@trpc/server";
import { histogramPercentile, LATENCY_BUCKETS_MS } from "@switchyard/contracts";
import { Prisma, type PrismaClient } from "@switchyard/db";
import { formatNanoUsd } from "@switchyard/pricing";
import { bucketStart, bucketStep, type Granularity } from "../lib/ranges";

/**
 * Analytics over the hourly rollups (usage_rollups, attribution_rollups), never over
 * the request log, so the pages cost the same however long the log grows. Every
 * function takes the caller's visible team ids (ctx.teamIds of teamScopedProcedure)
 * and reads no row outside them. Money leaves here as exact decimal USD strings.
 */

export interface AnalyticsRange {
  from: Date;
  to: Date;
}

/** Longest range: 93 days of hourly buckets. */
const MAX_BUCKETS = 24 * 93;

/** BAD_REQUEST unless `from < to` and the range fits MAX_BUCKETS at this granularity. */
export function assertRange(range: AnalyticsRange, granularity: Granularity = "hour"): void {
  if (range.to <= range.from)
    throw new TRPCError({ code: "BAD_REQUEST", message: "`to` must be after `from`." });
  const first = bucketStart(range.from, granularity);
  if ((range.to.getTime() - first.getTime()) / bucketStep(granularity) > MAX_BUCKETS)
    throw new TRPCError({ code: "BAD_REQUEST", message: "Range too long for this granularity." });
}

const HIST_LEN = LATENCY_BUCKETS_MS.length + 1;
/** Element-wise sum of a histogram column as one bigint[] (Postgres arrays are 1-based). */
function histSum(column: "latencyHist" | "ttftHist"): Prisma.Sql {
  const parts = Array.from(
    { length: HIST_LEN },
    (_, i) => `coalesce(sum("${column}"[${i + 1}]), 0)`,
  );
  return Prisma.raw(`ARRAY[${parts.join(", ")}]::bigint[]`);
}

const ratio = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

/** Sums of usage_rollups columns, as the aggregate queries here select them (without the latency histogram: MONEY_SUMS). */
const MONEY_SUMS = Prisma.sql`
  coalesce(sum("requests"), 0)::bigint AS requests,
  coalesce(sum("errors"), 0)::bigint AS errors,
  coalesce(sum("cacheHits"), 0)::bigint AS "cacheHits",
  coalesce(sum("unpricedRequests"), 0)::bigint AS "unpricedRequests",
  coalesce(sum("estimatedRequests"), 0)::bigint AS "estimatedRequests",
  coalesce(sum("inputTokens"), 0)::bigint AS "inputTokens",
  coalesce(sum("outputTokens"), 0)::bigint AS "outputTokens",
  coalesce(sum("costNanoUsd"), 0)::bigint AS "costNanoUsd",
  coalesce(sum("cacheSavedNanoUsd"), 0)::bigint AS "cacheSavedNanoUsd",
  coalesce(sum("requestedCostNanoUsd"), 0)::bigint AS "requestedCostNanoUsd",
  coalesce(sum("costNanoUsd") FILTER (WHERE "requestedCostNanoUsd" > 0), 0)::bigint AS "ledgerCostNanoUsd",
  coalesce(sum("cacheSavedNanoUsd") FILTER (WHERE "requestedCostNanoUsd" > 0), 0)::bigint AS "ledgerCacheNanoUsd",
  coalesce(sum("ttftMsSum"), 0)::bigint AS "ttftMsSum",
  coalesce(sum("ttftCount"), 0)::bigint AS "ttftCount"`;
/** MONEY_SUMS and the summed latency histogram (the dearest part: one sum per bucket). */
const USAGE_SUMS = Prisma.sql`${MONEY_SUMS}, ${histSum("latencyHist")} AS "latencyHist"`;

interface UsageSums {
  requests: bigint;
  errors: bigint;
  cacheHits: bigint;
  unpricedRequests: bigint;
  estimatedRequests: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  costNanoUsd: bigint;
  cacheSavedNanoUsd: bigint;
  requestedCostNanoUsd: bigint;
  ledgerCostNanoUsd: bigint;
  ledgerCacheNanoUsd: bigint;
  ttftMsSum: bigint;
  ttftCount: bigint;
  latencyHist: bigint[];
}

/**
 * Savings ledger: what routing saved = the cost on the model the client asked for minus
 * what was paid, over the rollup rows where the requested cost is known; cache hits are
 * in the requested cost too, so what the cache saved is taken out (it is reported apart).
 */
function routingSavedNano(s: UsageSums): bigint {
  return s.requestedCostNanoUsd - s.ledgerCostNanoUsd - s.ledgerCacheNanoUsd;
}

export interface UsageStats {
  requests: number;
  errors: number;
  errorRate: number;
  cacheHits: number;
  cacheHitRate: number;
  inputTokens: number;
  outputTokens: number;
  spendUsd: string;
  cacheSavedUsd: string;
  routingSavedUsd: string;
  /** Requests whose model had no price: not in spendUsd, flagged instead. */
  unpricedRequests: number;
  estimatedRequests: number;
  /** Upper bound (ms) of the histogram bucket holding the percentile; null without data. */
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  avgTtftMs: number | null;
}

function toStats(s: UsageSums): UsageStats {
  const requests = Number(s.requests);
  const errors = Number(s.errors);
  const cacheHits = Number(s.cacheHits);
  const hist = s.latencyHist.map(Number);
  const ttftCount = Number(s.ttftCount);
  return {
    requests,
    errors,
    errorRate: ratio(errors, requests),
    cacheHits,
    cacheHitRate: ratio(cacheHits, requests),
    inputTokens: Number(s.inputTokens),
    outputTokens: Number(s.outputTokens),
    spendUsd: formatNanoUsd(s.costNanoUsd),
    cacheSavedUsd: formatNanoUsd(s.cacheSavedNanoUsd),
    routingSavedUsd: formatNanoUsd(routingSavedNano(s)),
    unpricedRequests: Number(s.unpricedRequests),
    estimatedRequests: Number(s.estimatedRequests),
    p50LatencyMs: histogramPercentile(hist, 0.5),
    p95LatencyMs: histogramPercentile(hist, 0.95),
    avgTtftMs: ttftCount === 0 ? null : Math.round(Number(s.ttftMsSum) / ttftCount),
  };
}

const inRange = (teamIds: readonly string[], range: AnalyticsRange) =>
  Prisma.sql`"teamId" = ANY(${[...teamIds]}::text[]) AND "bucket" >= ${range.from} AND "bucket" < ${range.to}`;

async function usageTotals(
  db: PrismaClient,
  teamIds: readonly string[],
  range: AnalyticsRange,
): Promise<UsageSums> {
  const rows = await db.$queryRaw<UsageSums[]>`
    SELECT ${USAGE_SUMS} FROM "usage_rollups" WHERE ${inRange(teamIds, range)}`;
  return rows[0] as UsageSums;
}

/** usage_rollups sums per team, key, model or provider, most spend first. */
async function usageGroupSums(
  db: PrismaClient,
  teamIds: readonly string[],
  range: AnalyticsRange,
  groupBy: keyof typeof USAGE_GROUP_COLUMN,
  limit: number,
): Promise<(UsageSums & { key: string })[]> {
  return db.$queryRaw<(UsageSums & { key: string })[]>`
    SELECT ${USAGE_GROUP_COLUMN[groupBy]} AS key, ${USAGE_SUMS}
    FROM "usage_rollups" WHERE ${inRange(teamIds, range)}
    GROUP BY 1
    ORDER BY "costNanoUsd" DESC, requests DESC, key
    LIMIT ${limit}`;
}

async function labelled(
  db: PrismaClient,
  teamIds: readonly string[],
  groupBy: keyof typeof USAGE_GROUP_COLUMN,
  sums: (UsageSums & { key: string })[],
): Promise<BreakdownRow[]> {
  const labels = await labelsFor(db, teamIds, groupBy, sums.map((s) => s.key));
  return sums.map((s) => ({
    ...toStats(s),
    key: s.key,
    label: labels.get(s.key) ?? (s.key === "" ? "(none)" : s.key),
  }));
}

/** Adds up group sums (histograms element by element): the totals without another scan. */
function addSums(rows: readonly UsageSums[]): UsageSums {
  const total = emptySums();
  total.latencyHist = new Array<bigint>(HIST_LEN).fill(0n);
  for (const r of rows) {
    for (const k of Object.keys(total) as (keyof UsageSums)[]) {
      if (k === "latencyHist") r.latencyHist.forEach((v, i) => (total.latencyHist[i] = (total.latencyHist[i] ?? 0n) + BigInt(v)));
      else total[k] += BigInt(r[k]);
    }
  }
  return total;
}

// ───────────────────────────── time series ─────────────────────────────

export interface SeriesPoint {
  bucket: Date;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  spendUsd: string;
}

export interface Timeseries {
  totals: {
    requests: number;
    errors: number;
    errorRate: number;
    inputTokens: number;
    outputTokens: number;
    spendUsd: string;
    unpricedRequests: number;
  };
  /** One point per bucket of [from, to), zeros where nothing happened. */
  series: SeriesPoint[];
}

/** Spend, tokens, requests and errors per hour or UTC day over [from, to), gap-free. */
export async function analyticsTimeseries(
  db: PrismaClient,
  teamIds: readonly string[],
  range: AnalyticsRange,
  granularity: Granularity,
): Promise<Timeseries> {
  assertRange(range, granularity);
  const step = bucketStep(granularity);
  const binned =
    granularity === "hour"
      ? Prisma.sql`"bucket"`
      : Prisma.sql`date_bin('1 day'::interval, "bucket", TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
  const rows =
    teamIds.length === 0
      ? []
      : await db.$queryRaw<
          {
            b: Date;
            requests: bigint;
            errors: bigint;
            unpriced: bigint;
            inputTokens: bigint;
            outputTokens: bigint;
            cost: bigint;
          }[]
        >`
      SELECT ${binned} AS b,
        sum("requests")::bigint AS requests, sum("errors")::bigint AS errors,
        sum("unpricedRequests")::bigint AS unpriced,
        sum("inputTokens")::bigint AS "inputTokens", sum("outputTokens")::bigint AS "outputTokens",
        sum("costNanoUsd")::bigint AS cost
      FROM "usage_rollups" WHERE ${inRange(teamIds, range)}
      GROUP BY 1`;

  const byBucket = new Map(rows.map((r) => [r.b.getTime(), r]));
  const series: SeriesPoint[] = [];
  let requests = 0n;
  let errors = 0n;
  let unpriced = 0n;
  let inputTokens = 0n;
  let outputTokens = 0n;
  let cost = 0n;
  const first = bucketStart(range.from, granularity).getTime();
  for (let t = first; t < range.to.getTime(); t += step) {
    const r = byBucket.get(t);
    series.push({
      bucket: new Date(t),
      requests: Number(r?.requests ?? 0n),
      errors: Number(r?.errors ?? 0n),
      inputTokens: Number(r?.inputTokens ?? 0n),
      outputTokens: Number(r?.outputTokens ?? 0n),
      spendUsd: formatNanoUsd(r?.cost ?? 0n),
    });
  }
  for (const r of rows) {
    requests += r.requests;
    errors += r.errors;
    unpriced += r.unpriced;
    inputTokens += r.inputTokens;
    outputTokens += r.outputTokens;
    cost += r.cost;
  }
  return {
    totals: {
      requests: Number(requests),
      errors: Number(errors),
      errorRate: ratio(Number(errors), Number(requests)),
      inputTokens: Number(inputTokens),
      outputTokens: Number(outputTokens),
      spendUsd: formatNanoUsd(cost),
      unpricedRequests: Number(unpriced),
    },
    series,
  };
}

// ───────────────────────────── breakdowns ─────────────────────────────

/** team | key | model | provider come from usage_rollups; user and tag:<name> from attribution_rollups. */
export type GroupBy = "team" | "key" | "model" | "provider" | "user" | `tag:${string}`;

export const GROUP_BY_PATTERN = /^(team|key|model|provider|user|tag:[^\s]{1,100})$/;

export interface BreakdownRow extends Omit<
  UsageStats,
  "cacheHits" | "cacheHitRate" | "cacheSavedUsd" | "routingSavedUsd" | "estimatedRequests" | "p50LatencyMs" | "p95LatencyMs" | "avgTtftMs"
> {
  /** The grouped value: a team or key id, a model, provider, user id or tag value. */
  key: string;
  label: string;
  /** null for user and tag breakdowns: attribution rollups do not carry these. */
  cacheHitRate: number | null;
  cacheSavedUsd: string | null;
  routingSavedUsd: string | null;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  avgTtftMs: number | null;
}

const USAGE_GROUP_COLUMN = {
  team: Prisma.sql`"teamId"`,
  key: Prisma.sql`"virtualKeyId"`,
  model: Prisma.sql`"model"`,
  provider: Prisma.sql`"provider"`,
} as const;

/** Sorted by spend, then requests, most first; at most `limit` rows. */
export async function analyticsBreakdown(
  db: PrismaClient,
  teamIds: readonly string[],
  range: AnalyticsRange,
  groupBy: GroupBy,
  limit = 500,
): Promise<BreakdownRow[]> {
  assertRange(range);
  if (teamIds.length === 0) return [];
  let rows: BreakdownRow[];
  if (groupBy === "team" || groupBy === "key" || groupBy === "model" || groupBy === "provider") {
    const sums = await usageGroupSums(db, teamIds, range, groupBy, limit);
    rows = await labelled(db, teamIds, groupBy, sums);
  } else {
    const sums = await db.$queryRaw<
      {
        key: string;
        requests: bigint;
        errors: bigint;
        unpriced: bigint;
        inputTokens: bigint;
        outputTokens: bigint;
        cost: bigint;
      }[]
    >`
      SELECT "value" AS key,
        sum("requests")::bigint AS requests, sum("errors")::bigint AS errors,
        sum("unpricedRequests")::bigint AS unpriced,
        sum("inputTokens")::bigint AS "inputTokens", sum("outputTokens")::bigint AS "outputTokens",
        sum("costNanoUsd")::bigint AS cost
      FROM "attribution_rollups" WHERE ${inRange(teamIds, range)} AND "dimension" = ${groupBy}
      GROUP BY 1
      ORDER BY cost DESC, requests DESC, key
      LIMIT ${limit}`;
    rows = sums.map((s) => {
      const requests = Number(s.requests);
      const errors = Number(s.errors);
      return {
        key: s.key,
        label: s.key,
        requests,
        errors,
        errorRate: ratio(errors, requests),
        inputTokens: Number(s.inputTokens),
        outputTokens: Number(s.outputTokens),
        spendUsd: formatNanoUsd(s.cost),
        unpricedRequests: Number(s.unpriced),
        cacheHitRate: null,
        cacheSavedUsd: null,
        routingSavedUsd: null,
        p50LatencyMs: null,
        p95LatencyMs: null,
        avgTtftMs: null,
      };
    });
  }
  return rows;
}

async function labelsFor(
  db: PrismaClient,
  teamIds: readonly string[],
  groupBy: "team" | "key" | "model" | "provider",
  keys: string[],
): Promise<Map<string, string>> {
  if (groupBy === "team") {
    const teams = await db.team.findMany({
      where: { id: { in: keys.filter((k) => teamIds.includes(k)) } },
      select: { id: true, name: true },
    });
    return new Map(teams.map((t) => [t.id, t.name]));
  }
  if (groupBy === "key") {
    const vks = await db.virtualKey.findMany({
      where: { id: { in: keys }, teamId: { in: [...teamIds] } },
      select: { id: true, name: true, prefix: true },
    });
    return new Map(vks.map((k) => [k.id, `${k.name} (${k.prefix}…)`]));
  }
  return new Map();
}

/** The tag names ("tag:<name>" dimensions) seen in the range, for the group-by selector. */
export async function analyticsTagDimensions(
  db: PrismaClient,
  teamIds: readonly string[],
  range: AnalyticsRange,
): Promise<string[]> {
  assertRange(range);
  if (teamIds.length === 0) return [];
  const rows = await db.$queryRaw<{ dimension: string }[]>`
    SELECT DISTINCT "dimension" FROM "attribution_rollups"
    WHERE ${inRange(teamIds, range)} AND "dimension" LIKE 'tag:%'
    ORDER BY 1 LIMIT 200`;
  return rows.map((r) => r.dimension);
}

// ───────────────────────────── summary ─────────────────────────────

export interface Summary extends UsageStats {
  /** The same figures for the period of equal length just before `from`. */
  previous: { requests: number; spendUsd: string; errorRate: number; p95LatencyMs: number | null };
  topModels: BreakdownRow[];
  topTeams: BreakdownRow[];
}

/** The cards of the overview: this period, the previous one, and the top models and teams. */
export async function analyticsSummary(
  db: PrismaClient,
  teamIds: readonly string[],
  range: AnalyticsRange,
): Promise<Summary> {
  assertRange(range);
  const span = range.to.getTime() - range.from.getTime();
  const previousRange = { from: new Date(range.from.getTime() - span), to: range.from };
  if (teamIds.length === 0) {
    const zero = toStats(emptySums());
    return {
      ...zero,
      previous: { requests: 0, spendUsd: zero.spendUsd, errorRate: 0, p95LatencyMs: null },
      topModels: [],
      topTeams: [],
    };
  }
  // Every visible team's sums (a short list): the top teams and, added up, the totals.
  const [teamSums, previous, topModels] = await Promise.all([
    usageGroupSums(db, teamIds, range, "team", teamIds.length),
    usageTotals(db, teamIds, previousRange),
    analyticsBreakdown(db, teamIds, range, "model", 5),
  ]);
  const topTeams = await labelled(db, teamIds, "team", teamSums.slice(0, 5));
  const prev = toStats(previous);
  return {
    ...toStats(addSums(teamSums)),
    previous: {
      requests: prev.requests,
      spendUsd: prev.spendUsd,
      errorRate: prev.errorRate,
      p95LatencyMs: prev.p95LatencyMs,
    },
    topModels,
    topTeams,
  };
}

function emptySums(): UsageSums {
  return {
    requests: 0n,
    errors: 0n,
    cacheHits: 0n,
    unpricedRequests: 0n,
    estimatedRequests: 0n,
    inputTokens: 0n,
    outputTokens: 0n,
    costNanoUsd: 0n,
    cacheSavedNanoUsd: 0n,
    requestedCostNanoUsd: 0n,
    ledgerCostNanoUsd: 0n,
    ledgerCacheNanoUsd: 0n,
    ttftMsSum: 0n,
    ttftCount: 0n,
    latencyHist: [],
  };
}

// ───────────────────────────── savings ledger ─────────────────────────────

export interface SavingsRow {
  teamId: string;
  teamName: string;
  /** "2026-03" (UTC calendar month). */
  month: string;
  spendUsd: string;
  /** What the requests would have cost on the models the clients asked for. */
  requestedCostUsd: string;
  routingSavedUsd: string;
  cacheSavedUsd: string;
  totalSavedUsd: string;
}

/** What routing and caching saved, per team and UTC month, newest month first. */
export async function analyticsSavings(
  db: PrismaClient,
  teamIds: readonly string[],
  range: AnalyticsRange,
): Promise<SavingsRow[]> {
  assertRange(range);
  if (teamIds.length === 0) return [];
  const rows = await db.$queryRaw<(UsageSums & { teamId: string; month: string })[]>`
    SELECT "teamId", to_char(date_trunc('month', "bucket" AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, ${MONEY_SUMS}
    FROM "usage_rollups" WHERE ${inRange(teamIds, range)}
    GROUP BY 1, 2
    ORDER BY 2 DESC, "costNanoUsd" DESC, 1`;
  const names = await labelsFor(db, teamIds, "team", [...new Set(rows.map((r) => r.teamId))]);
  return rows.map((r) => {
    const routing = routingSavedNano(r);
    return {
      teamId: r.teamId,
      teamName: names.get(r.teamId) ?? r.teamId,
      month: r.month,
      spendUsd: formatNanoUsd(r.costNanoUsd),
      requestedCostUsd: formatNanoUsd(r.requestedCostNanoUsd),
      routingSavedUsd: formatNanoUsd(routing),
      cacheSavedUsd: formatNanoUsd(r.cacheSavedNanoUsd),
      totalSavedUsd: formatNanoUsd(routing + r.cacheSavedNanoUsd),
    };
  });
}
