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
import Link from "next/link";
import { formatInt, formatMs, formatPercent, formatUsd } from "../lib/format";
import { RANGE_LABELS, rangeWindow, type RangePreset } from "../lib/ranges";
import { useTRPC } from "../trpc/react";
import { breakdownColumns, ExportableTable } from "./breakdown-table";
import { changeLabel, RangeButtons, StatCard } from "./stat-card";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

export function OverviewView() {
  const trpc = useTRPC();
  const [preset, setPreset] = useState<RangePreset>("24h");
  // Fixed per selection so the query key is stable between renders.
  const range = useMemo(() => rangeWindow(preset), [preset]);
  const overview = useQuery(trpc.usage.overview.queryOptions(range));
  const summary = useQuery(trpc.usage.summary.queryOptions({ from: range.from, to: range.to }));
  const s = summary.data;

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
        <RangeButtons selected={preset} onSelect={setPreset} />
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
            sub={s ? <PreviousLine current={s.requests} previous={s.previous.requests} text={formatInt(s.previous.requests)} /> : undefined}
          />
          <StatCard
            label="Spend"
            testId="total-spend"
            value={totals ? formatUsd(totals.spendUsd) : "…"}
            exact={totals?.spendUsd ?? ""}
            sub={
              <>
                {s && (
                  <PreviousLine
                    current={Number(s.spendUsd)}
                    previous={Number(s.previous.spendUsd)}
                    text={formatUsd(s.previous.spendUsd)}
                  />
                )}
                {totals && totals.unpricedRequests > 0 && (
                  <Badge tone="amber" testId="unpriced-requests">
                    {formatInt(totals.unpricedRequests)} unpriced
                  </Badge>
                )}
              </>
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
        <div
          className="mt-4 grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4"
          data-testid="summary-cards"
          aria-busy={!s}
        >
          <StatCard
            label="Latency p95"
            testId="latency-p95"
            value={s ? formatMs(s.p95LatencyMs) : "…"}
            exact={s ? String(s.p95LatencyMs ?? "") : ""}
            sub={
              s
                ? `p50 ${formatMs(s.p50LatencyMs)}${s.avgTtftMs !== null ? ` · avg time to first token ${formatMs(s.avgTtftMs)}` : ""}`
                : undefined
            }
          />
          <StatCard
            label="Cache hit rate"
            testId="cache-hit-rate"
            value={s ? formatPercent(s.cacheHitRate) : "…"}
          />
          <StatCard
            label="Saved by cache"
            testId="cache-saved"
            value={s ? formatUsd(s.cacheSavedUsd) : "…"}
            exact={s?.cacheSavedUsd ?? ""}
          />
          <StatCard
            label="Saved by routing"
            testId="routing-saved"
            value={s ? formatUsd(s.routingSavedUsd) : "…"}
            exact={s?.routingSavedUsd ?? ""}
            sub="vs. the models clients asked for"
          />
        </div>
        {totals && totals.unpricedRequests > 0 && (
          <p
            role="status"
            data-testid="unpriced-warning"
            className="mt-4 rounded-md bg-amber-50 px-4 py-3 text-sm text-amber-800"
          >
            {formatInt(totals.unpricedRequests)} {totals.unpricedRequests === 1 ? "request" : "requests"} used a
            model with no price: they are not in the spend. Add a price for it (see the{" "}
            <Link href="/analytics" className="underline">
              breakdown by model
            </Link>
            ).
          </p>
        )}
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
        <LoadState error={summary.error}>
          <div className="grid grid-cols-1 gap-x-6 xl:grid-cols-2">
            <ExportableTable
              title="Top models"
              testId="top-models"
              filename={`top-models-${preset}.csv`}
              columns={topColumns("Model")}
              rows={s?.topModels ?? []}
              rowKey={(r) => r.key}
              busy={!s}
              empty="No requests in this period."
            />
            <ExportableTable
              title="Top teams"
              testId="top-teams"
              filename={`top-teams-${preset}.csv`}
              columns={topColumns("Team")}
              rows={s?.topTeams ?? []}
              rowKey={(r) => r.key}
              busy={!s}
              empty="No requests in this period."
            />
          </div>
        </LoadState>
      </LoadState>
    </div>
  );
}

/** The overview's short tables: name, requests, spend, error rate, p95. */
function topColumns(groupLabel: string) {
  const keep = new Set(["name", "requests", "spend", "error-rate", "p95"]);
  return breakdownColumns(groupLabel).filter((c) => keep.has(c.id));
}

function PreviousLine({ current, previous, text }: { current: number; previous: number; text: string }) {
  const change = changeLabel(current, previous);
  return (
    <span className="mr-2" data-testid="previous-period">
      previous period {text}
      {change && ` (${change})`}
    </span>
  );
}
