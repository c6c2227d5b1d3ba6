"use client";

import type { ReactNode } from "react";
import type { CsvColumn } from "../lib/csv";
import { formatInt, formatMs, formatPercent, formatUsd } from "../lib/format";
import type { BreakdownRow, SavingsRow } from "../server/analytics";
import { CsvExportButton } from "./csv-export";
import { DataTable, EmptyRow } from "./form-bits";
import { Badge } from "./ui";

/** One column of an exportable table: what the cell shows and what the CSV gets. */
export interface TableColumn<T> extends CsvColumn<T> {
  /** data-testid of the cell; its data-value holds the exact CSV value. */
  id: string;
  cell: (row: T) => ReactNode;
  numeric?: boolean;
}

/** A DataTable with a title and an "Export CSV" of exactly the rows shown. */
export function ExportableTable<T>({
  title,
  testId,
  filename,
  columns,
  rows,
  rowKey,
  busy,
  empty,
}: {
  title: string;
  testId: string;
  filename: string;
  columns: readonly TableColumn<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  busy: boolean;
  empty: string;
}) {
  return (
    <div className="mt-6">
      <div className="mb-2 flex items-center justify-between gap-4">
        <h2 className="text-sm font-semibold text-slate-700">{title}</h2>
        <CsvExportButton filename={filename} columns={columns} rows={rows} testId={`${testId}-csv`} />
      </div>
      <DataTable testId={testId} busy={busy} columns={columns.map((c) => c.header)}>
        {rows.length === 0 && !busy ? (
          <EmptyRow colSpan={columns.length} testId={`${testId}-empty`}>
            {empty}
          </EmptyRow>
        ) : (
          rows.map((row) => (
            <tr key={rowKey(row)} data-testid={`${testId}-row`} data-key={rowKey(row)}>
              {columns.map((c) => {
                const v = c.value(row);
                return (
                  <td
                    key={c.id}
                    data-testid={`cell-${c.id}`}
                    data-value={v === null ? "" : String(v)}
                    className={`px-3 py-2 ${c.numeric ? "whitespace-nowrap text-right tabular-nums" : ""}`}
                  >
                    {c.cell(row)}
                  </td>
                );
              })}
            </tr>
          ))
        )}
      </DataTable>
    </div>
  );
}

const usd = (v: string | null) => (v === null ? "—" : formatUsd(v));
const pct = (v: number | null) => (v === null ? "—" : formatPercent(v));

/** The columns of a breakdown (by team, key, model, provider, user or tag). */
export function breakdownColumns(groupLabel: string): TableColumn<BreakdownRow>[] {
  return [
    { id: "name", header: groupLabel, value: (r) => r.label, cell: (r) => r.label },
    { id: "requests", header: "Requests", numeric: true, value: (r) => r.requests, cell: (r) => formatInt(r.requests) },
    {
      id: "spend",
      header: "Spend (USD)",
      numeric: true,
      value: (r) => r.spendUsd,
      cell: (r) => (
        <span title={r.spendUsd}>
          {formatUsd(r.spendUsd)}
          {r.unpricedRequests > 0 && (
            <span className="ml-1">
              <Badge tone="amber">{formatInt(r.unpricedRequests)} unpriced</Badge>
            </span>
          )}
        </span>
      ),
    },
    { id: "input-tokens", header: "Tokens in", numeric: true, value: (r) => r.inputTokens, cell: (r) => formatInt(r.inputTokens) },
    { id: "output-tokens", header: "Tokens out", numeric: true, value: (r) => r.outputTokens, cell: (r) => formatInt(r.outputTokens) },
    { id: "error-rate", header: "Error rate", numeric: true, value: (r) => r.errorRate, cell: (r) => formatPercent(r.errorRate) },
    { id: "cache-hit-rate", header: "Cache hits", numeric: true, value: (r) => r.cacheHitRate, cell: (r) => pct(r.cacheHitRate) },
    { id: "p50", header: "p50", numeric: true, value: (r) => r.p50LatencyMs, cell: (r) => formatMs(r.p50LatencyMs) },
    { id: "p95", header: "p95", numeric: true, value: (r) => r.p95LatencyMs, cell: (r) => formatMs(r.p95LatencyMs) },
    { id: "ttft", header: "Avg TTFT", numeric: true, value: (r) => r.avgTtftMs, cell: (r) => formatMs(r.avgTtftMs) },
    { id: "unpriced", header: "Unpriced", numeric: true, value: (r) => r.unpricedRequests, cell: (r) => formatInt(r.unpricedRequests) },
    { id: "cache-saved", header: "Saved by cache (USD)", numeric: true, value: (r) => r.cacheSavedUsd, cell: (r) => usd(r.cacheSavedUsd) },
    { id: "routing-saved", header: "Saved by routing (USD)", numeric: true, value: (r) => r.routingSavedUsd, cell: (r) => usd(r.routingSavedUsd) },
  ];
}

export const savingsColumns: TableColumn<SavingsRow>[] = [
  { id: "month", header: "Month", value: (r) => r.month, cell: (r) => r.month },
  { id: "team", header: "Team", value: (r) => r.teamName, cell: (r) => r.teamName },
  { id: "spend", header: "Spend (USD)", numeric: true, value: (r) => r.spendUsd, cell: (r) => formatUsd(r.spendUsd) },
  { id: "requested-cost", header: "On requested models (USD)", numeric: true, value: (r) => r.requestedCostUsd, cell: (r) => formatUsd(r.requestedCostUsd) },
  { id: "routing-saved", header: "Saved by routing (USD)", numeric: true, value: (r) => r.routingSavedUsd, cell: (r) => formatUsd(r.routingSavedUsd) },
  { id: "cache-saved", header: "Saved by cache (USD)", numeric: true, value: (r) => r.cacheSavedUsd, cell: (r) => formatUsd(r.cacheSavedUsd) },
  { id: "total-saved", header: "Saved in total (USD)", numeric: true, value: (r) => r.totalSavedUsd, cell: (r) => formatUsd(r.totalSavedUsd) },
];
