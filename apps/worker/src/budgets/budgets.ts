import { periodEnd, periodStart, type BudgetPeriod as CalendarPeriod } from "@switchyard/limits";
import { Prisma, type BudgetPeriod, type BudgetScope, type PrismaClient } from "@switchyard/db";

/** Where "now" comes from; tests pass a fixed one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A budget with what the worker needs to reconcile it and to write about it. */
export interface TrackedBudget {
  id: string;
  orgId: string;
  scope: BudgetScope;
  /** The org, team or key whose requests count against the budget. */
  scopeId: string;
  amountNanoUsd: bigint;
  period: BudgetPeriod;
  hard: boolean;
  thresholds: number[];
  recipients: string[];
  notifyTeamAdmins: boolean;
  timeZone: string;
  orgName: string;
  /** The budget's team; for a KEY budget, the key's team; null for an ORG budget. */
  teamId: string | null;
  teamName: string | null;
  keyName: string | null;
  keyPrefix: string | null;
}

/** The scopes a batch of usage touched; budgets on any of them are re-checked. */
export interface TouchedScopes {
  orgIds: ReadonlySet<string>;
  teamIds: ReadonlySet<string>;
  virtualKeyIds: ReadonlySet<string>;
}

const budgetInclude = {
  org: { select: { name: true, timeZone: true } },
  team: { select: { name: true } },
  virtualKey: {
    select: { name: true, prefix: true, teamId: true, team: { select: { name: true } } },
  },
} satisfies Prisma.BudgetInclude;

type BudgetRow = Prisma.BudgetGetPayload<{ include: typeof budgetInclude }>;

function toTracked(b: BudgetRow): TrackedBudget | null {
  const scopeId = b.scope === "ORG" ? b.orgId : b.scope === "TEAM" ? b.teamId : b.virtualKeyId;
  // A TEAM budget without a team (or KEY without a key) cannot be attributed; skip it.
  if (!scopeId) return null;
  return {
    id: b.id,
    orgId: b.orgId,
    scope: b.scope,
    scopeId,
    amountNanoUsd: b.amountNanoUsd,
    period: b.period,
    hard: b.hard,
    thresholds: b.thresholds,
    recipients: b.recipients,
    notifyTeamAdmins: b.notifyTeamAdmins,
    timeZone: b.org.timeZone,
    orgName: b.org.name,
    teamId:
      b.scope === "KEY" ? (b.virtualKey?.teamId ?? null) : b.scope === "TEAM" ? b.teamId : null,
    teamName: b.scope === "KEY" ? (b.virtualKey?.team.name ?? null) : (b.team?.name ?? null),
    keyName: b.virtualKey?.name ?? null,
    keyPrefix: b.virtualKey?.prefix ?? null,
  };
}

/** Every budget, or only those on the scopes a usage batch touched. */
export async function loadBudgets(
  prisma: PrismaClient,
  touched?: TouchedScopes,
): Promise<TrackedBudget[]> {
  let where: Prisma.BudgetWhereInput = {};
  if (touched) {
    const or: Prisma.BudgetWhereInput[] = [];
    if (touched.orgIds.size > 0) or.push({ scope: "ORG", orgId: { in: [...touched.orgIds] } });
    if (touched.teamIds.size > 0) or.push({ scope: "TEAM", teamId: { in: [...touched.teamIds] } });
    if (touched.virtualKeyIds.size > 0)
      or.push({ scope: "KEY", virtualKeyId: { in: [...touched.virtualKeyIds] } });
    if (or.length === 0) return [];
    where = { OR: or };
  }
  const rows = await prisma.budget.findMany({
    where,
    include: budgetInclude,
    orderBy: { id: "asc" },
  });
  return rows.map(toTracked).filter((b): b is TrackedBudget => b !== null);
}

const calendarPeriod: Record<BudgetPeriod, CalendarPeriod> = {
  DAY: "day",
  WEEK: "week",
  MONTH: "month",
};

export interface PeriodWindow {
  /** First instant of the current calendar period in the org's time zone. */
  start: Date;
  /** First instant of the next one: when the budget resets. */
  end: Date;
}

/** The budget's current period; throws RangeError for an unknown time zone. */
export function currentPeriod(
  budget: Pick<TrackedBudget, "period" | "timeZone">,
  now: Date,
): PeriodWindow {
  const p = calendarPeriod[budget.period];
  return { start: periodStart(p, budget.timeZone, now), end: periodEnd(p, budget.timeZone, now) };
}

function scopeColumn(scope: BudgetScope): Prisma.Sql {
  switch (scope) {
    case "ORG":
      return Prisma.sql`"orgId"`;
    case "TEAM":
      return Prisma.sql`"teamId"`;
    case "KEY":
      return Prisma.sql`"virtualKeyId"`;
  }
}

/**
 * How long after its row reached Postgres a request's cost is surely in Redis too: a
 * proxy admitting a busy key against a lease spends its finished requests' costs in Redis
 * when the lease retires, up to about a second after they finished (and the usage event
 * can reach Postgres sooner than that). Reconciliation raises Redis only to the rows
 * older than this, or it would count those costs twice.
 */
export const RECONCILE_MARGIN_SECONDS = 10;

/**
 * Spend (nano-USD) recorded in Postgres for the budget's scope in [start, end); unpriced
 * requests count 0. `total` is every row (for alerts); `settled` only rows ingested more
 * than RECONCILE_MARGIN_SECONDS ago by the database's clock (for reconciliation).
 */
export async function recordedSpend(
  prisma: PrismaClient,
  budget: Pick<TrackedBudget, "scope" | "scopeId">,
  window: PeriodWindow,
): Promise<{ total: bigint; settled: bigint }> {
  const [row] = await prisma.$queryRaw<{ total: bigint; settled: bigint }[]>`
    SELECT COALESCE(SUM("costNanoUsd"), 0)::bigint AS total,
      COALESCE(SUM("costNanoUsd") FILTER (WHERE "ingestedAt" < now() - make_interval(secs => ${RECONCILE_MARGIN_SECONDS})), 0)::bigint AS settled
    FROM request_logs
    WHERE ${scopeColumn(budget.scope)} = ${budget.scopeId}
      AND "createdAt" >= ${window.start} AND "createdAt" < ${window.end}`;
  return { total: BigInt(row?.total ?? 0n), settled: BigInt(row?.settled ?? 0n) };
}

export interface SpendLine {
  label: string;
  requests: number;
  costNanoUsd: bigint;
}

/** The five models and the five keys that spent most of the budget in [start, end). */
export async function topSpenders(
  prisma: PrismaClient,
  budget: Pick<TrackedBudget, "scope" | "scopeId">,
  window: PeriodWindow,
): Promise<{ models: SpendLine[]; keys: SpendLine[] }> {
  const col = scopeColumn(budget.scope);
  const models = await prisma.$queryRaw<{ label: string; requests: bigint; cost: bigint }[]>`
    SELECT COALESCE("servedModel", "requestedModel") AS label, count(*) AS requests,
      COALESCE(SUM("costNanoUsd"), 0)::bigint AS cost
    FROM request_logs
    WHERE ${col} = ${budget.scopeId} AND "createdAt" >= ${window.start} AND "createdAt" < ${window.end}
    GROUP BY 1 ORDER BY cost DESC, label ASC LIMIT 5`;
  // Keys may have been deleted since (logs keep their id): fall back to the id.
  const keys = await prisma.$queryRaw<{ label: string; requests: bigint; cost: bigint }[]>`
    SELECT COALESCE(k."name" || ' (' || k."prefix" || '…)', r."virtualKeyId") AS label,
      count(*) AS requests, COALESCE(SUM(r."costNanoUsd"), 0)::bigint AS cost
    FROM request_logs r LEFT JOIN virtual_keys k ON k."id" = r."virtualKeyId"
    WHERE r.${col} = ${budget.scopeId} AND r."createdAt" >= ${window.start} AND r."createdAt" < ${window.end}
    GROUP BY r."virtualKeyId", k."name", k."prefix" ORDER BY cost DESC, label ASC LIMIT 5`;
  const line = (r: { label: string; requests: bigint; cost: bigint }): SpendLine => ({
    label: r.label,
    requests: Number(r.requests),
    costNanoUsd: BigInt(r.cost),
  });
  return { models: models.map(line), keys: keys.map(line) };
}

/**
 * Who gets a budget's alerts: its own addresses plus, when notifyTeamAdmins, the
 * team admins of its team (a KEY budget: the key's team) or, for an ORG budget, the
 * org owners and admins. Addresses are deduplicated case-insensitively, first spelling kept.
 */
export async function alertRecipients(
  prisma: PrismaClient,
  budget: TrackedBudget,
): Promise<string[]> {
  const addresses = [...budget.recipients];
  if (budget.notifyTeamAdmins) {
    const where: Prisma.MembershipWhereInput =
      budget.scope === "ORG"
        ? { orgId: budget.orgId, role: { in: ["ORG_OWNER", "ORG_ADMIN"] } }
        : budget.teamId
          ? { teamId: budget.teamId, role: "TEAM_ADMIN" }
          : { id: { in: [] } };
    const members = await prisma.membership.findMany({
      where,
      select: { user: { select: { email: true } } },
      orderBy: { createdAt: "asc" },
    });
    addresses.push(...members.map((m) => m.user.email));
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const a of addresses.map((x) => x.trim()).filter((x) => x.length > 0)) {
    const k = a.toLowerCase();
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(a);
  }
  return out;
}
