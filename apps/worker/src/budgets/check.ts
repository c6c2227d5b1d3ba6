import { MAX_NANO_USD, raiseBudgetSpent, readBudget, type LimitsRedis } from "@switchyard/limits";
import type { PrismaClient } from "@switchyard/db";
import {
  alertRecipients,
  currentPeriod,
  loadBudgets,
  recordedSpend,
  topSpenders,
  type Clock,
  type PeriodWindow,
  type TouchedScopes,
  type TrackedBudget,
} from "./budgets";
import { composeAlertEmail } from "./email";
import type { AlertMailer } from "./mailer";

export interface BudgetLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BudgetCheckDeps {
  prisma: PrismaClient;
  redis: LimitsRedis;
  mailer: AlertMailer;
  clock: Clock;
  /** Key prefix of the limits counters, the proxy's too ("sy:"). */
  limitsPrefix: string;
  dashboardUrl?: string;
  logger?: BudgetLogger;
}

export interface BudgetCheckResult {
  budgets: number;
  /** Budgets whose Redis spent was raised to the Postgres total. */
  raised: number;
  alertsSent: number;
  /** Budgets that could not be checked this run (they are retried next run). */
  failed: number;
}

/**
 * The threshold to alert for now: the highest one the spend has crossed, provided no
 * alert for it or a higher one went out this period. Crossing 50 and 80 at once sends
 * one email (80), not two; each threshold is still alerted at most once per period.
 */
export function dueThreshold(
  thresholds: readonly number[],
  spentNanoUsd: bigint,
  limitNanoUsd: bigint,
  alreadySent: readonly number[],
): number | undefined {
  if (spentNanoUsd <= 0n) return undefined;
  const highestSent = Math.max(0, ...alreadySent);
  const crossed = thresholds.filter(
    (t) => Number.isInteger(t) && t > 0 && spentNanoUsd * 100n >= BigInt(t) * limitNanoUsd,
  );
  const highest = Math.max(0, ...crossed);
  return highest > highestSent ? highest : undefined;
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One pass over the budgets (all of them, or those on the touched scopes): computes
 * each one's spend in its current period from Postgres, raises the Redis counter the
 * proxy enforces to at least that (so a Redis restart loses nothing), and sends the
 * alert email that is due, at most one per budget, period and threshold.
 */
export async function checkBudgets(
  deps: BudgetCheckDeps,
  touched?: TouchedScopes,
): Promise<BudgetCheckResult> {
  const budgets = await loadBudgets(deps.prisma, touched);
  const result: BudgetCheckResult = {
    budgets: budgets.length,
    raised: 0,
    alertsSent: 0,
    failed: 0,
  };
  for (const budget of budgets) {
    try {
      const r = await checkBudget(deps, budget);
      if (r.raised) result.raised += 1;
      if (r.alertSent) result.alertsSent += 1;
    } catch (err) {
      result.failed += 1;
      deps.logger?.error({ budgetId: budget.id, err: errMsg(err) }, "budget check failed");
    }
  }
  return result;
}

async function checkBudget(
  deps: BudgetCheckDeps,
  budget: TrackedBudget,
): Promise<{ raised: boolean; alertSent: boolean }> {
  const now = deps.clock.now();
  const window = currentPeriod(budget, now);
  const recorded = await recordedSpend(deps.prisma, budget, window);
  const spent = recorded.total;

  let raised = false;
  try {
    // Only rows old enough that their cost is surely in Redis already (RECONCILE_MARGIN_SECONDS).
    const floor = recorded.settled > MAX_NANO_USD ? MAX_NANO_USD : recorded.settled;
    const target = { id: budget.id, periodStart: window.start };
    const options = { prefix: deps.limitsPrefix };
    // Read first only to log what changed; the raise itself is atomic and never lowers.
    const before = (await readBudget(deps.redis, target, options)).spentNanoUsd;
    if (floor > before) {
      await raiseBudgetSpent(deps.redis, target, floor, options);
      raised = true;
      deps.logger?.info(
        { budgetId: budget.id, from: before.toString(), to: floor.toString() },
        "budget spent raised to the Postgres total",
      );
    }
  } catch (err) {
    // Alerts come from Postgres alone; a Redis outage must not hold them back.
    deps.logger?.warn(
      { budgetId: budget.id, err: errMsg(err) },
      "could not reconcile budget in Redis",
    );
  }

  const alertSent = await alertIfDue(deps, budget, window, spent, now);
  return { raised, alertSent };
}

async function alertIfDue(
  deps: BudgetCheckDeps,
  budget: TrackedBudget,
  window: PeriodWindow,
  spent: bigint,
  now: Date,
): Promise<boolean> {
  const { prisma } = deps;
  const sent = await prisma.alertEvent.findMany({
    where: { budgetId: budget.id, periodStart: window.start },
    select: { threshold: true },
  });
  const threshold = dueThreshold(
    budget.thresholds,
    spent,
    budget.amountNanoUsd,
    sent.map((s) => s.threshold),
  );
  if (threshold === undefined) return false;

  const recipients = await alertRecipients(prisma, budget);
  if (recipients.length === 0) {
    deps.logger?.warn(
      { budgetId: budget.id, threshold },
      "budget alert due but the budget has no recipients",
    );
    return false;
  }

  // Claim first: the unique (budget, period, threshold) row decides which worker sends.
  const claimed = await prisma.alertEvent.createManyAndReturn({
    data: [
      {
        budgetId: budget.id,
        periodStart: window.start,
        threshold,
        spentNanoUsd: spent,
        limitNanoUsd: budget.amountNanoUsd,
        recipients,
        sentAt: now,
      },
    ],
    skipDuplicates: true,
    select: { id: true },
  });
  const claim = claimed[0];
  if (!claim) return false;

  try {
    const top = await topSpenders(prisma, budget, window);
    const email = composeAlertEmail({
      scope: budget.scope,
      orgName: budget.orgName,
      teamName: budget.teamName,
      keyName: budget.keyName,
      keyPrefix: budget.keyPrefix,
      period: budget.period,
      hard: budget.hard,
      threshold,
      spentNanoUsd: spent,
      limitNanoUsd: budget.amountNanoUsd,
      window,
      timeZone: budget.timeZone,
      now,
      topModels: top.models,
      topKeys: top.keys,
      dashboardUrl: deps.dashboardUrl,
    });
    await deps.mailer.send(recipients, email);
  } catch (err) {
    // Not sent: give the claim back so a later run (of any worker) tries again.
    await prisma.alertEvent
      .delete({ where: { id: claim.id } })
      .catch((delErr: unknown) =>
        deps.logger?.error(
          { budgetId: budget.id, threshold, err: errMsg(delErr) },
          "could not release an unsent budget alert; it will not be retried this period",
        ),
      );
    throw err;
  }
  deps.logger?.info(
    {
      budgetId: budget.id,
      threshold,
      recipients: recipients.length,
      spentNanoUsd: spent.toString(),
    },
    "budget alert sent",
  );
  return true;
}
