"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState, type FormEvent } from "react";
import { formatDateTime, formatUsd } from "../lib/format";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import {
  buttonClass,
  DangerButton,
  DataTable,
  EmptyRow,
  ErrorLine,
  Field,
  inputClass,
  OptionSelect,
  primaryClass,
} from "./form-bits";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

type Outputs = inferRouterOutputs<AppRouter>;
type Budget = Outputs["budgets"]["list"][number];
type Period = Budget["period"];
type Scope = Budget["scope"];

const BUDGET_COLUMNS = [
  "Applies to",
  "Period",
  "Spent this period",
  "Resets",
  "Mode",
  "Alerts",
  "Actions",
] as const;

const PERIOD_OPTIONS: { value: Period; label: string }[] = [
  { value: "day", label: "day" },
  { value: "week", label: "week (from Monday)" },
  { value: "month", label: "month" },
];

const MODE_OPTIONS = [
  { value: "hard", label: "block requests (hard)" },
  { value: "soft", label: "alert only (soft)" },
] as const;

const PERIOD_LABEL: Record<Period, string> = { day: "daily", week: "weekly", month: "monthly" };

/** "50, 80,100" → [50, 80, 100]; anything unparsable goes to the server as NaN and is refused there. */
function parseList(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function SpendBar({ b }: { b: Budget }) {
  const pct = Math.min(100, b.spentRatio * 100);
  const tone =
    b.spentRatio >= 1 ? "bg-red-500" : b.spentRatio >= 0.8 ? "bg-amber-500" : "bg-emerald-500";
  return (
    <div className="min-w-48">
      <div className="flex justify-between text-xs text-slate-600">
        <span data-testid="budget-spent">
          {formatUsd(b.spentUsd)} of {formatUsd(b.amountUsd)}
        </span>
        <span>{(b.spentRatio * 100).toFixed(1)}%</span>
      </div>
      <div
        className="relative mt-1 h-2 rounded bg-slate-100"
        data-testid="budget-bar"
        data-ratio={b.spentRatio}
      >
        <div className={`h-2 rounded ${tone}`} style={{ width: `${pct}%` }} />
        {b.thresholds.map((t) => (
          <div
            key={t}
            title={`${t}% alert`}
            className="absolute top-0 h-2 w-px bg-slate-500"
            style={{ left: `${Math.min(t, 100)}%` }}
          />
        ))}
      </div>
    </div>
  );
}

interface FormState {
  scope: Scope;
  orgId: string;
  teamId: string;
  keyId: string;
  amountUsd: string;
  period: Period;
  hard: boolean;
  thresholds: string;
  recipients: string;
  notifyTeamAdmins: boolean;
}

function BudgetForm({ editing, onDone }: { editing: Budget | null; onDone: () => void }) {
  const trpc = useTRPC();
  const client = useQueryClient();
  const teams = useQuery(trpc.keys.teams.queryOptions({}));
  const me = useQuery(trpc.me.get.queryOptions());
  const keys = useQuery(trpc.keys.list.queryOptions({}));
  const adminOrgs = [
    ...new Map(
      (me.data?.memberships ?? [])
        .filter((m) => m.teamId === null && (m.role === "ORG_OWNER" || m.role === "ORG_ADMIN"))
        .map((m) => [m.orgId, { id: m.orgId, name: m.orgName }]),
    ).values(),
  ];
  const managedTeams = (teams.data ?? []).filter((t) => t.access === "manage");
  const [f, setF] = useState<FormState>(() => ({
    scope: editing?.scope ?? "team",
    orgId: editing?.orgId ?? "",
    teamId: editing?.teamId ?? "",
    keyId: editing?.keyId ?? "",
    amountUsd: editing ? editing.amountUsd.replace(/\.?0+$/, "") : "",
    period: editing?.period ?? "month",
    hard: editing?.hard ?? true,
    thresholds: (editing?.thresholds ?? [50, 80, 100]).join(", "),
    recipients: (editing?.recipients ?? []).join(", "),
    notifyTeamAdmins: editing?.notifyTeamAdmins ?? true,
  }));
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) =>
    setF((prev) => ({ ...prev, [k]: v }));
  const orgId = f.orgId || adminOrgs[0]?.id || "";
  const teamId = f.teamId || managedTeams[0]?.id || "";
  const teamKeys = (keys.data ?? []).filter((k) => k.teamId === teamId && k.revokedAt === null);
  const keyId = f.keyId || teamKeys[0]?.id || "";

  const onSuccess = async () => {
    await client.invalidateQueries({ queryKey: trpc.budgets.list.queryKey() });
    onDone();
  };
  const createOrg = useMutation(trpc.budgets.createForOrg.mutationOptions({ onSuccess }));
  const createTeam = useMutation(trpc.budgets.createForTeam.mutationOptions({ onSuccess }));
  const update = useMutation(trpc.budgets.update.mutationOptions({ onSuccess }));
  const pending = createOrg.isPending || createTeam.isPending || update.isPending;
  const error = createOrg.error ?? createTeam.error ?? update.error;

  function submit(e: FormEvent) {
    e.preventDefault();
    const settings = {
      amountUsd: f.amountUsd.trim(),
      period: f.period,
      hard: f.hard,
      thresholds: parseList(f.thresholds).map(Number),
      recipients: parseList(f.recipients),
      notifyTeamAdmins: f.notifyTeamAdmins,
    };
    if (editing) update.mutate({ budgetId: editing.id, ...settings });
    else if (f.scope === "org") createOrg.mutate({ orgId, ...settings });
    else if (f.scope === "team") createTeam.mutate({ teamId, ...settings });
    else createTeam.mutate({ teamId, keyId, ...settings });
  }

  return (
    <Panel className="mb-6 p-4">
      <form onSubmit={submit} data-testid="budget-form" className="flex flex-col gap-3">
        <h2 className="text-sm font-semibold">
          {editing
            ? `Edit the ${PERIOD_LABEL[editing.period]} budget of ${editing.scope} ${editing.keyName ?? editing.teamName ?? editing.orgName}`
            : "New budget"}
        </h2>
        {!editing && (
          <div className="flex flex-wrap items-end gap-3">
            <Field label="Applies to">
              <OptionSelect<Scope>
                value={f.scope}
                onChange={(v) => set("scope", v)}
                options={[
                  ...(adminOrgs.length > 0
                    ? [{ value: "org" as const, label: "the whole organisation" }]
                    : []),
                  { value: "team", label: "a team" },
                  { value: "key", label: "one key" },
                ]}
                testId="budget-scope"
              />
            </Field>
            {f.scope === "org" ? (
              <Field label="Organisation">
                <OptionSelect
                  value={orgId}
                  onChange={(v) => set("orgId", v)}
                  options={adminOrgs.map((o) => ({ value: o.id, label: o.name }))}
                  testId="budget-org"
                />
              </Field>
            ) : (
              <Field label="Team">
                <OptionSelect
                  value={teamId}
                  onChange={(v) => setF((prev) => ({ ...prev, teamId: v, keyId: "" }))}
                  options={managedTeams.map((t) => ({
                    value: t.id,
                    label: `${t.name} (${t.orgName})`,
                  }))}
                  testId="budget-team"
                />
              </Field>
            )}
            {f.scope === "key" && (
              <Field label="Key">
                <OptionSelect
                  value={keyId}
                  onChange={(v) => set("keyId", v)}
                  options={teamKeys.map((k) => ({
                    value: k.id,
                    label: `${k.name} (${k.prefix}…)`,
                  }))}
                  testId="budget-key"
                />
              </Field>
            )}
          </div>
        )}
        <div className="flex flex-wrap items-end gap-3">
          <Field label="Amount (USD)">
            <input
              className={`${inputClass} w-32`}
              inputMode="decimal"
              value={f.amountUsd}
              onChange={(e) => set("amountUsd", e.target.value)}
              placeholder="500"
              required
              data-testid="budget-amount"
            />
          </Field>
          <Field label="Period">
            <OptionSelect
              value={f.period}
              onChange={(v) => set("period", v)}
              options={PERIOD_OPTIONS}
              testId="budget-period"
            />
          </Field>
          <Field label="When reached">
            <OptionSelect
              value={f.hard ? "hard" : "soft"}
              onChange={(v) => set("hard", v === "hard")}
              options={MODE_OPTIONS}
              testId="budget-mode"
            />
          </Field>
          <Field label="Alert at (% of the amount)">
            <input
              className={`${inputClass} w-40`}
              value={f.thresholds}
              onChange={(e) => set("thresholds", e.target.value)}
              data-testid="budget-thresholds"
            />
          </Field>
          <Field label="Also email (comma-separated)" className="min-w-64 flex-1">
            <input
              className={inputClass}
              value={f.recipients}
              onChange={(e) => set("recipients", e.target.value)}
              placeholder="finance@example.com"
              data-testid="budget-recipients"
            />
          </Field>
          <label className="flex items-center gap-2 text-xs text-slate-600">
            <input
              type="checkbox"
              checked={f.notifyTeamAdmins}
              onChange={(e) => set("notifyTeamAdmins", e.target.checked)}
              data-testid="budget-notify-admins"
            />
            email the team admins (org admins for an org budget)
          </label>
        </div>
        <div className="flex gap-2">
          <button
            type="submit"
            className={primaryClass}
            disabled={pending}
            data-testid="budget-save"
          >
            {editing ? "Save budget" : "Create budget"}
          </button>
          <button type="button" className={buttonClass} onClick={onDone}>
            Cancel
          </button>
        </div>
      </form>
      <ErrorLine error={error} />
    </Panel>
  );
}

function DeleteBudget({ b }: { b: Budget }) {
  const trpc = useTRPC();
  const client = useQueryClient();
  const remove = useMutation(
    trpc.budgets.delete.mutationOptions({
      onSuccess: () => client.invalidateQueries({ queryKey: trpc.budgets.list.queryKey() }),
    }),
  );
  return (
    <>
      <DangerButton
        disabled={remove.isPending}
        onClick={() => {
          if (window.confirm("Delete this budget and its alert history?"))
            remove.mutate({ budgetId: b.id });
        }}
        testId="budget-delete"
      >
        Delete
      </DangerButton>
      <ErrorLine error={remove.error} />
    </>
  );
}

export function BudgetsView() {
  const trpc = useTRPC();
  const budgets = useQuery(trpc.budgets.list.queryOptions({}));
  const teams = useQuery(trpc.keys.teams.queryOptions({}));
  const me = useQuery(trpc.me.get.queryOptions());
  const [form, setForm] = useState<{ editing: Budget | null } | null>(null);
  const mayCreate =
    (teams.data ?? []).some((t) => t.access === "manage") ||
    (me.data?.memberships ?? []).some(
      (m) => m.teamId === null && (m.role === "ORG_OWNER" || m.role === "ORG_ADMIN"),
    );

  return (
    <div>
      <PageHeader title="Budgets">
        {mayCreate && (
          <button
            type="button"
            className={primaryClass}
            onClick={() => setForm(form ? null : { editing: null })}
            data-testid="budget-new"
          >
            New budget
          </button>
        )}
      </PageHeader>
      {form && (
        <BudgetForm
          key={form.editing?.id ?? "new"}
          editing={form.editing}
          onDone={() => setForm(null)}
        />
      )}
      <LoadState error={budgets.error}>
        <DataTable testId="budgets-table" busy={budgets.isPending} columns={BUDGET_COLUMNS}>
          {budgets.data?.map((b) => (
            <tr
              key={b.id}
              data-testid="budget-row"
              data-budget-id={b.id}
              data-scope={b.scope}
              className="align-top"
            >
              <td className="px-3 py-2">
                <div className="font-medium" data-testid="budget-target">
                  {b.scope === "org"
                    ? b.orgName
                    : b.scope === "team"
                      ? b.teamName
                      : `${b.keyName} (${b.keyPrefix}…)`}
                </div>
                <div className="text-xs text-slate-500">
                  {b.scope === "org"
                    ? "organisation"
                    : b.scope === "team"
                      ? `team · ${b.orgName}`
                      : `key of ${b.teamName}`}
                </div>
              </td>
              <td className="whitespace-nowrap px-3 py-2">{PERIOD_LABEL[b.period]}</td>
              <td className="px-3 py-2">
                <SpendBar b={b} />
              </td>
              <td
                className="whitespace-nowrap px-3 py-2 text-slate-600"
                data-testid="budget-resets"
              >
                {formatDateTime(b.resetsAt)}
                <div className="text-xs text-slate-500">periods in {b.timeZone}</div>
              </td>
              <td className="px-3 py-2" data-testid="budget-mode-badge">
                {b.hard ? (
                  <Badge tone="red">hard · blocks</Badge>
                ) : (
                  <Badge tone="amber">soft · alerts</Badge>
                )}
              </td>
              <td className="px-3 py-2 text-xs text-slate-600">
                <div data-testid="budget-thresholds-shown">
                  {b.thresholds.length ? b.thresholds.map((t) => `${t}%`).join(", ") : "none"}
                </div>
                <div>
                  {[
                    b.notifyTeamAdmins ? (b.scope === "org" ? "org admins" : "team admins") : null,
                    ...b.recipients,
                  ]
                    .filter(Boolean)
                    .join(", ") || "nobody"}
                </div>
              </td>
              <td className="px-3 py-2">
                {b.canManage && (
                  <div className="flex gap-2">
                    <button
                      type="button"
                      className={buttonClass}
                      onClick={() => setForm({ editing: b })}
                      data-testid="budget-edit"
                    >
                      Edit
                    </button>
                    <DeleteBudget b={b} />
                  </div>
                )}
              </td>
            </tr>
          ))}
          {budgets.data?.length === 0 && (
            <EmptyRow colSpan={BUDGET_COLUMNS.length} testId="budgets-empty">
              No budgets yet.
            </EmptyRow>
          )}
        </DataTable>
      </LoadState>
    </div>
  );
}
