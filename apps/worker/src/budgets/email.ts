import { formatNanoUsd } from "@switchyard/pricing";
import { localParts } from "@switchyard/limits";
import type { BudgetPeriod, BudgetScope } from "@switchyard/db";
import type { PeriodWindow, SpendLine } from "./budgets";

/** Everything an alert email says; built by the alert run, rendered by composeAlertEmail. */
export interface BudgetAlertFacts {
  scope: BudgetScope;
  orgName: string;
  teamName: string | null;
  keyName: string | null;
  keyPrefix: string | null;
  period: BudgetPeriod;
  hard: boolean;
  threshold: number;
  spentNanoUsd: bigint;
  limitNanoUsd: bigint;
  window: PeriodWindow;
  timeZone: string;
  now: Date;
  topModels: SpendLine[];
  topKeys: SpendLine[];
  /** Dashboard base URL; the email links to its budgets page when set. */
  dashboardUrl?: string;
}

export interface AlertEmail {
  subject: string;
  text: string;
  html: string;
}

export type Exhaustion = { kind: "exhausted" } | { kind: "after-reset" } | { kind: "at"; at: Date };

/**
 * When the budget runs out if spending goes on at the average rate of the period so
 * far: spent / elapsed extrapolated to the limit. Past the period end (or with nothing
 * spent yet) it does not run out before the reset.
 */
export function forecastExhaustion(
  spentNanoUsd: bigint,
  limitNanoUsd: bigint,
  window: PeriodWindow,
  now: Date,
): Exhaustion {
  if (spentNanoUsd >= limitNanoUsd) return { kind: "exhausted" };
  const elapsedMs = BigInt(Math.max(0, now.getTime() - window.start.getTime()));
  if (spentNanoUsd <= 0n || elapsedMs === 0n) return { kind: "after-reset" };
  const remainingMs = ((limitNanoUsd - spentNanoUsd) * elapsedMs) / spentNanoUsd;
  const atMs = BigInt(now.getTime()) + remainingMs;
  if (atMs >= BigInt(window.end.getTime())) return { kind: "after-reset" };
  return { kind: "at", at: new Date(Number(atMs)) };
}

/** "$1,234.56"; amounts under a cent keep their significant digits ("$0.000027"). */
export function formatUsd(nano: bigint): string {
  if (nano > 0n && nano < 5_000_000n) return `$${formatNanoUsd(nano).replace(/0+$/, "")}`;
  const cents = (nano + 5_000_000n) / 10_000_000n;
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `$${whole}.${(cents % 100n).toString().padStart(2, "0")}`;
}

/** Spend as a percentage of the limit with one decimal, rounded down ("80.1"). */
export function formatPercent(spent: bigint, limit: bigint): string {
  if (limit <= 0n) return spent > 0n ? "∞" : "0.0";
  const tenths = (spent * 1000n) / limit;
  return `${tenths / 10n}.${tenths % 10n}`;
}

/** "2026-11-01 00:00" in the given time zone. */
export function formatLocal(at: Date, timeZone: string): string {
  const l = localParts(at.getTime(), timeZone);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${l.year}-${p2(l.month)}-${p2(l.day)} ${p2(l.hour)}:${p2(l.minute)}`;
}

const adjective: Record<BudgetPeriod, string> = { DAY: "daily", WEEK: "weekly", MONTH: "monthly" };

/** "Team 'search'", "Key 'ci-bot'", "Organization 'Acme'". */
function subjectOf(f: BudgetAlertFacts): string {
  switch (f.scope) {
    case "ORG":
      return `Organization '${f.orgName}'`;
    case "TEAM":
      return `Team '${f.teamName ?? "?"}'`;
    case "KEY":
      return `Key '${f.keyName ?? "?"}'`;
  }
}

function describeBudget(f: BudgetAlertFacts): string {
  const key = f.keyPrefix ? ` (${f.keyPrefix}…)` : "";
  switch (f.scope) {
    case "ORG":
      return `the ${adjective[f.period]} budget of organization '${f.orgName}'`;
    case "TEAM":
      return `the ${adjective[f.period]} budget of team '${f.teamName ?? "?"}' in '${f.orgName}'`;
    case "KEY":
      return `the ${adjective[f.period]} budget of key '${f.keyName ?? "?"}'${key}, team '${f.teamName ?? "?"}' in '${f.orgName}'`;
  }
}

function enforcement(hard: boolean): string {
  return hard
    ? "hard: requests are refused once the limit is reached, until the period resets"
    : "soft: requests go on past the limit; this is only an alert";
}

function exhaustionSentence(f: BudgetAlertFacts): string {
  const e = forecastExhaustion(f.spentNanoUsd, f.limitNanoUsd, f.window, f.now);
  const reset = `${formatLocal(f.window.end, f.timeZone)} (${f.timeZone})`;
  switch (e.kind) {
    case "exhausted":
      return `The budget is already exhausted. It resets at ${reset}.`;
    case "after-reset":
      return `At the current pace the budget does not run out before the period resets at ${reset}.`;
    case "at":
      return `At the current pace the budget runs out around ${formatLocal(e.at, f.timeZone)} (${f.timeZone}); it resets at ${reset}.`;
  }
}

function budgetsPage(f: BudgetAlertFacts): string | undefined {
  return f.dashboardUrl ? `${f.dashboardUrl.replace(/\/+$/, "")}/budgets` : undefined;
}

function textTable(title: string, lines: SpendLine[]): string {
  if (lines.length === 0) return `${title}: none\n`;
  const rows = lines.map(
    (l, i) =>
      `  ${i + 1}. ${l.label}: ${formatUsd(l.costNanoUsd)} (${l.requests} request${l.requests === 1 ? "" : "s"})`,
  );
  return `${title}:\n${rows.join("\n")}\n`;
}

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

function htmlTable(title: string, lines: SpendLine[]): string {
  if (lines.length === 0) return `<h3>${escapeHtml(title)}</h3><p>none</p>`;
  const rows = lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.label)}</td><td style="text-align:right">${escapeHtml(formatUsd(l.costNanoUsd))}</td><td style="text-align:right">${l.requests}</td></tr>`,
    )
    .join("");
  return `<h3>${escapeHtml(title)}</h3><table cellpadding="4" style="border-collapse:collapse"><thead><tr><th style="text-align:left">Name</th><th style="text-align:right">Spend</th><th style="text-align:right">Requests</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The alert email, as plain text and HTML saying the same things. */
export function composeAlertEmail(f: BudgetAlertFacts): AlertEmail {
  const subject = `[Switchyard] ${subjectOf(f)} ${adjective[f.period]} budget at ${f.threshold} %`;
  const what = describeBudget(f);
  const spend = `${formatUsd(f.spentNanoUsd)} of ${formatUsd(f.limitNanoUsd)} (${formatPercent(f.spentNanoUsd, f.limitNanoUsd)} %)`;
  const period = `${formatLocal(f.window.start, f.timeZone)} to ${formatLocal(f.window.end, f.timeZone)} (${f.timeZone})`;
  const forecast = exhaustionSentence(f);
  const link = budgetsPage(f);

  const text =
    `Spending has reached ${f.threshold} % of ${what}.\n\n` +
    `Spend:   ${spend}\n` +
    `Budget:  ${enforcement(f.hard)}\n` +
    `Period:  ${period}\n\n` +
    `${forecast}\n\n` +
    textTable("Top models by spend", f.topModels) +
    "\n" +
    textTable("Top keys by spend", f.topKeys) +
    (link ? `\nBudgets and alert settings: ${link}\n` : "");

  const html =
    `<!doctype html><html><body style="font-family:sans-serif">` +
    `<p>Spending has reached <strong>${f.threshold} %</strong> of ${escapeHtml(what)}.</p>` +
    `<table cellpadding="4">` +
    `<tr><th style="text-align:left">Spend</th><td>${escapeHtml(spend)}</td></tr>` +
    `<tr><th style="text-align:left">Budget</th><td>${escapeHtml(enforcement(f.hard))}</td></tr>` +
    `<tr><th style="text-align:left">Period</th><td>${escapeHtml(period)}</td></tr>` +
    `</table>` +
    `<p>${escapeHtml(forecast)}</p>` +
    htmlTable("Top models by spend", f.topModels) +
    htmlTable("Top keys by spend", f.topKeys) +
    (link ? `<p><a href="${escapeHtml(link)}">Budgets and alert settings</a></p>` : "") +
    `</body></html>`;

  return { subject, text, html };
}
