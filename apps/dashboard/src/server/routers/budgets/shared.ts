import { z } from "zod";
import type { BudgetPeriod, BudgetScope, Prisma, PrismaClient } from "@switchyard/db";
import {
  MAX_NANO_USD,
  periodEnd,
  periodStart,
  type BudgetPeriod as LimitsPeriod,
} from "@switchyard/limits";

const NANO_PER_USD = 1_000_000_000n;

/**
 * "12.5" USD → 12_500_000_000n nano-USD, exactly (no float on the way). Returns an
 * error message instead for anything that is not a positive decimal with at most 9
 * decimals, or above the largest amount the budget scripts compare exactly
 * (MAX_NANO_USD = 2^53 − 1 nano-USD ≈ $9,007,199.25).
 */
export function parseUsdAmount(text: string): bigint | string {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m)
    return text.trim().startsWith("-")
      ? "The amount cannot be negative."
      : "Give the amount in USD, such as 50 or 12.50.";
  const frac = m[2] ?? "";
  if (frac.length > 9) return "At most 9 decimals (one nano-dollar).";
  const nano = BigInt(m[1] ?? "0") * NANO_PER_USD + BigInt(frac.padEnd(9, "0"));
  if (nano === 0n) return "The amount must be more than 0.";
  if (nano > MAX_NANO_USD) return "The amount can be at most 9,007,199 USD.";
  return nano;
}

/** A decimal USD string in, exact nano-USD out. */
export const usdAmountSchema = z.string().transform((text, ctx) => {
  const parsed = parseUsdAmount(text);
  if (typeof parsed === "string") {
    ctx.addIssue({ code: "custom", message: parsed });
    return z.NEVER;
  }
  return parsed;
});

export const DEFAULT_THRESHOLDS = [50, 80, 100];

/** Alert thresholds: whole percentages 1-100, no duplicates; stored sorted ascending. */
export const thresholdsSchema = z
  .array(z.number().int().min(1, "Thresholds are 1-100 %.").max(100, "Thresholds are 1-100 %."))
  .max(10)
  .refine((t) => new Set(t).size === t.length, "Each threshold only once.")
  .transform((t) => [...t].sort((a, b) => a - b));

/** Extra alert addresses: valid emails, lower-cased, each once. */
export const recipientsSchema = z
  .array(z.string().trim().toLowerCase().pipe(z.email("Not an email address.")))
  .max(20)
  .transform((r) => [...new Set(r)]);

export const periodSchema = z.enum(["day", "week", "month"]);

export const budgetSettingsSchema = z.object({
  amountUsd: usdAmountSchema,
  period: periodSchema,
  /** true: block requests past the limit; false: alert only. */
  hard: z.boolean().default(true),
  thresholds: thresholdsSchema.default(DEFAULT_THRESHOLDS),
  recipients: recipientsSchema.default([]),
  notifyTeamAdmins: z.boolean().default(true),
});

export const PERIOD_TO_DB: Record<LimitsPeriod, BudgetPeriod> = {
  day: "DAY",
  week: "WEEK",
  month: "MONTH",
};
export const PERIOD_FROM_DB: Record<BudgetPeriod, LimitsPeriod> = {
  DAY: "day",
  WEEK: "week",
  MONTH: "month",
};

type Db = PrismaClient | Prisma.TransactionClient;

export interface SpendScope {
  scope: BudgetScope;
  orgId: string;
  teamId: string | null;
  virtualKeyId: string | null;
  period: BudgetPeriod;
}

/**
 * The budget's current calendar period in the org's time zone and what was spent in
 * it, from the request log (unpriced requests count 0) — the same sum the worker
 * reconciles Redis against.
 */
export async function currentSpend(db: Db, budget: SpendScope, timeZone: string, now = new Date()) {
  const period = PERIOD_FROM_DB[budget.period];
  const start = periodStart(period, timeZone, now);
  const end = periodEnd(period, timeZone, now);
  const scopeWhere: Prisma.RequestLogWhereInput =
    budget.scope === "ORG"
      ? { orgId: budget.orgId }
      : budget.scope === "TEAM"
        ? { teamId: budget.teamId ?? "" }
        : { virtualKeyId: budget.virtualKeyId ?? "" };
  const sum = await db.requestLog.aggregate({
    where: { ...scopeWhere, createdAt: { gte: start, lt: end } },
    _sum: { costNanoUsd: true },
  });
  return { periodStart: start, resetsAt: end, spentNanoUsd: sum._sum.costNanoUsd ?? 0n };
}

/**
 * The budgets a user can read, given the teams the procedure base resolved for them:
 * their organisations' org budgets (unless narrowed to one team), and the team and
 * key budgets of those teams.
 */
export function readableBudgetsWhere(
  memberships: readonly { orgId: string }[],
  teamIds: readonly string[],
  narrowedToTeam: boolean,
): Prisma.BudgetWhereInput {
  const orgIds = narrowedToTeam ? [] : [...new Set(memberships.map((m) => m.orgId))];
  return {
    OR: [
      { scope: "ORG", orgId: { in: orgIds } },
      { scope: "TEAM", teamId: { in: [...teamIds] } },
      { scope: "KEY", virtualKey: { teamId: { in: [...teamIds] } } },
    ],
  };
}
