"use client";

import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import {
  Bar,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { formatInt, formatPercent, formatUsd } from "../lib/format";
import { RANGE_PRESETS, rangeWindow, type RangePreset } from "../lib/ranges";
import { useTRPC } from "../trpc/react";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

const RANGE_LABELS: Record<RangePreset, string> = {
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
};

function StatCard({
  label,
  value,
  testId,
  exact,
  sub,
}: {
  label: string;
  value: string;
  testId: string;
  exact?: string;
  sub?: React.ReactNode;
}) {
  return (
    <Panel className="p-5">
      <p className="text-sm text-slate-500">{label}</p>
      <p
        className="mt-2 text-3xl font-semibold tabular-nums"
        data-testid={testId}
        data-value={exact ?? value}
      >
        {value}
      </p>
      {sub && <div className="mt-1 text-xs text-slate-500">{sub}</div>}
    </Panel>
  );
}

export function OverviewView() {
  const trpc = useTRPC();
  const [preset, setPreset] = useState<RangePreset>("24h");
  // Fixed per selection so the query key is stable between renders.
  const range = useMemo(() => rangeWindow(preset), [preset]);
  const overview = useQuery(trpc.usage.overview.queryOptions(range));

  const chartData = useMemo(
    () =>
      (overview.data?.series ?? []).map((p) => ({
        label:
          range.granularity === "hour"
            ? `${p.bucket.toISOString().slice(11, 13)}:00`
            : p.bucket.toISOString().slice(5, 10),
        requests: p.requests,
        // Plotting only; every number shown as text comes from the exact string.
        spend: Number(p.spendUsd),
      })),
    [overview.data, range.granularity],
  );

  const totals = overview.data?.totals;
  return (
    <div>
      <PageHeader title="Overview">
        <div
          className="inline-flex rounded-lg border border-slate-200 bg-white p-0.5"
          role="group"
          aria-label="Time range"
        >
          {RANGE_PRESETS.map((p) => (
            <button
              key={p}
              type="button"
              onClick={() => setPreset(p)}
              data-testid={`range-${p}`}
              aria-pressed={preset === p}
              className={`rounded-md px-3 py-1 text-sm ${preset === p ? "bg-indigo-600 text-white" : "text-slate-600 hover:text-slate-900"}`}
            >
              {RANGE_LABELS[p]}
            </button>
          ))}
        </div>
      </PageHeader>
      <LoadState error={overview.error}>
        <div
          className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4"
          data-testid="overview-cards"
          aria-busy={!totals}
        >
          <StatCard
            label="Requests"
            testId="total-requests"
            value={totals ? formatInt(totals.requests) : "…"}
            exact={totals ? String(totals.requests) : ""}
          />
          <StatCard
            label="Spend"
            testId="total-spend"
            value={totals ? formatUsd(totals.spendUsd) : "…"}
            exact={totals?.spendUsd ?? ""}
            sub={
              totals && totals.unpricedRequests > 0 ? (
                <Badge tone="amber" testId="unpriced-requests">
                  {formatInt(totals.unpricedRequests)} unpriced
                </Badge>
              ) : undefined
            }
          />
          <StatCard
            label="Tokens (in / out)"
            testId="total-tokens"
            value={
              totals ? `${formatInt(totals.inputTokens)} / ${formatInt(totals.outputTokens)}` : "…"
            }
          />
          <StatCard
            label="Error rate"
            testId="error-rate"
            value={totals ? formatPercent(totals.errorRate) : "…"}
            sub={
              totals
                ? `${formatInt(totals.errors)} ${totals.errors === 1 ? "error" : "errors"}`
                : undefined
            }
          />
        </div>
        <Panel className="mt-6 p-5">
          <h2 className="text-sm font-medium text-slate-700">
            Requests and spend — {RANGE_LABELS[preset].toLowerCase()} (UTC)
          </h2>
          <div className="mt-4 h-80" data-testid="usage-chart">
            <ResponsiveContainer width="100%" height="100%">
              <ComposedChart data={chartData} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" vertical={false} />
                <XAxis
                  dataKey="label"
                  tick={{ fontSize: 12, fill: "#64748b" }}
                  tickLine={false}
                  axisLine={{ stroke: "#cbd5e1" }}
                  minTickGap={16}
                />
                <YAxis
                  yAxisId="requests"
                  allowDecimals={false}
                  tick={{ fontSize: 12, fill: "#64748b" }}
                  tickLine={false}
                  axisLine={false}
                  width={48}
                />
                <YAxis
                  yAxisId="spend"
                  orientation="right"
                  tick={{ fontSize: 12, fill: "#64748b" }}
                  tickLine={false}
                  axisLine={false}
                  width={64}
                  tickFormatter={(v: number) => `$${v.toFixed(2)}`}
                />
                <Tooltip
                  formatter={(value, name) =>
                    name === "Spend (USD)"
                      ? [`$${Number(value).toFixed(4)}`, name]
                      : [formatInt(Number(value)), name]
                  }
                />
                <Legend wrapperStyle={{ fontSize: 12 }} />
                <Bar
                  yAxisId="requests"
                  dataKey="requests"
                  name="Requests"
                  fill="#6366f1"
                  radius={[3, 3, 0, 0]}
                  maxBarSize={32}
                  isAnimationActive={false}
                />
                <Line
                  yAxisId="spend"
                  dataKey="spend"
                  name="Spend (USD)"
                  stroke="#f59e0b"
                  strokeWidth={2}
                  dot={false}
                  type="linear"
                  isAnimationActive={false}
                />
              </ComposedChart>
            </ResponsiveContainer>
          </div>
        </Panel>
      </LoadState>
    </div>
  );
}
