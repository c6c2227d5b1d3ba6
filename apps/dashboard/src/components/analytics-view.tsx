"use client";

import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { formatInt, formatMs, formatPercent, formatUsd } from "../lib/format";
import { dayRange, granularityFor, rangeWindow, type RangePreset } from "../lib/ranges";
import { useTRPC } from "../trpc/react";
import { breakdownColumns, ExportableTable, savingsColumns } from "./breakdown-table";
import { inputClass, OptionSelect, type SelectOption } from "./form-bits";
import { RangeButtons, StatCard } from "./stat-card";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

const BASE_GROUPS: SelectOption<string>[] = [
  { value: "model", label: "Model" },
  { value: "team", label: "Team" },
  { value: "key", label: "Key" },
  { value: "provider", label: "Provider" },
  { value: "user", label: "End user" },
];

const axisTick = { fontSize: 12, fill: "#64748b" };

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function AnalyticsView() {
  const trpc = useTRPC();
  const [preset, setPreset] = useState<RangePreset | null>("7d");
  const [custom, setCustom] = useState(() => {
    const w = rangeWindow("7d");
    return { first: isoDay(w.from), last: isoDay(new Date(w.to.getTime() - 1)) };
  });
  const [groupBy, setGroupBy] = useState("model");

  // Fixed per selection so the query keys stay stable between renders.
  const range = useMemo(() => {
    if (preset) {
      const w = rangeWindow(preset);
      return { from: w.from, to: w.to };
    }
    return dayRange(custom.first, custom.last);
  }, [preset, custom]);
  const granularity = range ? granularityFor(range.from, range.to) : "day";
  const enabled = range !== null;
  const q = range ?? { from: new Date(0), to: new Date(1) };

  const summary = useQuery({ ...trpc.usage.summary.queryOptions(q), enabled });
  const series = useQuery({ ...trpc.usage.overview.queryOptions({ ...q, granularity }), enabled });
  const tags = useQuery({ ...trpc.usage.tagDimensions.queryOptions(q), enabled });
  const breakdown = useQuery({ ...trpc.usage.breakdown.queryOptions({ ...q, groupBy }), enabled });
  const savings = useQuery({ ...trpc.usage.savings.queryOptions(q), enabled });

  const groupOptions = useMemo(
    () => [
      ...BASE_GROUPS,
      ...(tags.data ?? []).map((d) => ({ value: d, label: `Tag: ${d.slice(4)}` })),
      // Keep a chosen tag selectable while the list reloads for a new range.
      ...(groupBy.startsWith("tag:") && !(tags.data ?? []).includes(groupBy)
        ? [{ value: groupBy, label: `Tag: ${groupBy.slice(4)}` }]
        : []),
    ],
    [tags.data, groupBy],
  );
  const groupLabel = groupOptions.find((o) => o.value === groupBy)?.label ?? groupBy;

  const chartData = useMemo(
    () =>
      (series.data?.series ?? []).map((p) => ({
        label:
          granularity === "hour"
            ? `${p.bucket.toISOString().slice(5, 10)} ${p.bucket.toISOString().slice(11, 13)}:00`
            : p.bucket.toISOString().slice(5, 10),
        requests: p.requests,
        errors: p.errors,
        inputTokens: p.inputTokens,
        outputTokens: p.outputTokens,
        // Plotting only; every number shown as text comes from the exact string.
        spend: Number(p.spendUsd),
      })),
    [series.data, granularity],
  );
  const breakdownChart = useMemo(
    () =>
      (breakdown.data ?? []).slice(0, 10).map((r) => ({ label: r.label, spend: Number(r.spendUsd), requests: r.requests })),
    [breakdown.data],
  );

  const s = summary.data;
  const rangeName = range ? `${isoDay(range.from)}–${isoDay(new Date(range.to.getTime() - 1))}` : "invalid range";
  return (
    <div>
      <PageHeader title="Analytics">
        <div className="flex flex-wrap items-center gap-2">
          <RangeButtons
            selected={preset}
            onSelect={setPreset}
            extra={
              <button
                type="button"
                onClick={() => setPreset(null)}
                data-testid="range-custom"
                aria-pressed={preset === null}
                className={`rounded-md px-3 py-1 text-sm ${preset === null ? "bg-indigo-600 text-white" : "text-slate-600 hover:text-slate-900"}`}
              >
                Custom
              </button>
            }
          />
          {preset === null && (
            <span className="flex items-center gap-1 text-sm text-slate-600">
              <input
                type="date"
                className={inputClass}
                value={custom.first}
                onChange={(e) => setCustom((c) => ({ ...c, first: e.target.value }))}
                data-testid="range-from"
                aria-label="First day (UTC)"
              />
              –
              <input
                type="date"
                className={inputClass}
                value={custom.last}
                onChange={(e) => setCustom((c) => ({ ...c, last: e.target.value }))}
                data-testid="range-to"
                aria-label="Last day (UTC)"
              />
            </span>
          )}
        </div>
      </PageHeader>
      {range === null && (
        <p role="alert" className="mb-4 rounded-md bg-red-50 px-4 py-3 text-sm text-red-700">
          The last day must not be before the first.
        </p>
      )}
      <LoadState error={summary.error ?? series.error}>
        <div
          className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4"
          data-testid="analytics-cards"
          aria-busy={!s}
        >
          <StatCard
            label="Spend"
            testId="analytics-spend"
            value={s ? formatUsd(s.spendUsd) : "…"}
            exact={s?.spendUsd ?? ""}
            sub={
              s && s.unpricedRequests > 0 ? (
                <Badge tone="amber" testId="analytics-unpriced">
                  {formatInt(s.unpricedRequests)} unpriced
                </Badge>
              ) : undefined
            }
          />
          <StatCard
            label="Requests"
            testId="analytics-requests"
            value={s ? formatInt(s.requests) : "…"}
            exact={s ? String(s.requests) : ""}
            sub={s ? `error rate ${formatPercent(s.errorRate)}` : undefined}
          />
          <StatCard
            label="Latency p95"
            testId="analytics-latency"
            value={s ? formatMs(s.p95LatencyMs) : "…"}
            exact={s ? String(s.p95LatencyMs ?? "") : ""}
            sub={
              s
                ? `p50 ${formatMs(s.p50LatencyMs)}${s.avgTtftMs !== null ? ` · avg TTFT ${formatMs(s.avgTtftMs)}` : ""}`
                : undefined
            }
          />
          <StatCard
            label="Saved by cache"
            testId="analytics-cache-saved"
            value={s ? formatUsd(s.cacheSavedUsd) : "…"}
            exact={s?.cacheSavedUsd ?? ""}
            sub={s ? `cache hit rate ${formatPercent(s.cacheHitRate)} · routing saved ${formatUsd(s.routingSavedUsd)}` : undefined}
          />
        </div>
        <div className="mt-6 grid grid-cols-1 gap-4 xl:grid-cols-2">
          <Panel className="p-5">
            <h2 className="text-sm font-medium text-slate-700">Requests, errors and spend (UTC)</h2>
            <div className="mt-4 h-72" data-testid="analytics-usage-chart">
              <ResponsiveContainer width="100%" height="100%">
                <ComposedChart data={chartData} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
                  <XAxis dataKey="label" tick={axisTick} tickLine={false} minTickGap={16} />
                  <YAxis yAxisId="requests" allowDecimals={false} tick={axisTick} tickLine={false} axisLine={false} width={48} />
                  <YAxis
                    yAxisId="spend"
                    orientation="right"
                    tick={axisTick}
                    tickLine={false}
                    axisLine={false}
                    width={64}
                    tickFormatter={(v: number) => `$${v.toFixed(2)}`}
                  />
                  <Tooltip />
                  <Legend wrapperStyle={{ fontSize: 12 }} />
                  <Bar yAxisId="requests" dataKey="requests" name="Requests" fill="#6366f1" maxBarSize={24} isAnimationActive={false} />
                  <Bar yAxisId="requests" dataKey="errors" name="Errors" fill="#ef4444" maxBarSize={24} isAnimationActive={false} />
                  <Line yAxisId="spend" dataKey="spend" name="Spend (USD)" stroke="#f59e0b" strokeWidth={2} dot={false} isAnimationActive={false} />
                </ComposedChart>
              </ResponsiveContainer>
            </div>
          </Panel>
          <Panel className="p-5">
            <h2 className="text-sm font-medium text-slate-700">Tokens in and out (UTC)</h2>
            <div className="mt-4 h-72" data-testid="analytics-tokens-chart">
              <ResponsiveContainer width="100%" height="100%">
                <AreaChart data={chartData} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
                  <XAxis dataKey="label" tick={axisTick} tickLine={false} minTickGap={16} />
                  <YAxis tick={axisTick} tickLine={false} axisLine={false} width={64} />
                  <Tooltip />
                  <Legend wrapperStyle={{ fontSize: 12 }} />
                  <Area dataKey="inputTokens" name="Input tokens" stackId="t" stroke="#0ea5e9" fill="#bae6fd" isAnimationActive={false} />
                  <Area dataKey="outputTokens" name="Output tokens" stackId="t" stroke="#10b981" fill="#a7f3d0" isAnimationActive={false} />
                </AreaChart>
              </ResponsiveContainer>
            </div>
          </Panel>
        </div>

        <Panel className="mt-6 p-5">
          <div className="flex flex-wrap items-center justify-between gap-4">
            <h2 className="text-sm font-medium text-slate-700">Spend by {groupLabel.toLowerCase()} (top 10)</h2>
            <label className="flex items-center gap-2 text-sm text-slate-600">
              Group by
              <OptionSelect value={groupBy} onChange={setGroupBy} options={groupOptions} testId="group-by" />
            </label>
          </div>
          <div className="mt-4 h-64" data-testid="breakdown-chart">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={breakdownChart} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
                <XAxis dataKey="label" tick={axisTick} tickLine={false} interval={0} />
                <YAxis tick={axisTick} tickLine={false} axisLine={false} width={64} tickFormatter={(v: number) => `$${v.toFixed(2)}`} />
                <Tooltip />
                <Bar dataKey="spend" name="Spend (USD)" fill="#6366f1" maxBarSize={40} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </Panel>
        <LoadState error={breakdown.error}>
          <ExportableTable
            title={`Breakdown by ${groupLabel.toLowerCase()}`}
            testId="breakdown"
            filename={`breakdown-${groupBy.replace(/[^a-z0-9-]+/gi, "-")}-${rangeName}.csv`}
            columns={breakdownColumns(groupLabel)}
            rows={breakdown.data ?? []}
            rowKey={(r) => r.key}
            busy={!breakdown.data}
            empty="No requests in this range."
          />
        </LoadState>
        <LoadState error={savings.error}>
          <ExportableTable
            title="Savings ledger: what routing and caching saved, per team and month"
            testId="savings"
            filename={`savings-${rangeName}.csv`}
            columns={savingsColumns}
            rows={savings.data ?? []}
            rowKey={(r) => `${r.month}/${r.teamId}`}
            busy={!savings.data}
            empty="No requests in this range."
          />
        </LoadState>
      </LoadState>
    </div>
  );
}
