"use client";

import { useQuery } from "@tanstack/react-query";
import { formatDateTime, formatUsd } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { DataTable, EmptyRow } from "./form-bits";
import { Badge, LoadState, PageHeader } from "./ui";

const ALERT_COLUMNS = [
  "Sent",
  "Budget",
  "Period from",
  "Threshold",
  "Spent / limit",
  "Recipients",
] as const;

/** Budget alert emails that were sent, newest first. */
export function AlertsView() {
  const trpc = useTRPC();
  const alerts = useQuery(trpc.alerts.list.queryOptions({}));
  return (
    <div>
      <PageHeader title="Budget alerts sent" />
      <LoadState error={alerts.error}>
        <DataTable testId="alerts-table" busy={alerts.isPending} columns={ALERT_COLUMNS}>
          {alerts.data?.map((a) => (
            <tr key={a.id} data-testid="alert-row" data-budget-id={a.budgetId}>
              <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                {formatDateTime(a.sentAt)}
              </td>
              <td className="px-3 py-2">
                <span className="font-medium">{a.target}</span>{" "}
                <span className="text-xs text-slate-500">
                  {a.scope} · {a.period}
                </span>
              </td>
              <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                {formatDateTime(a.periodStart)}
              </td>
              <td className="px-3 py-2">
                <Badge tone={a.threshold >= 100 ? "red" : "amber"}>{a.threshold}%</Badge>
              </td>
              <td className="whitespace-nowrap px-3 py-2">
                {formatUsd(a.spentUsd)} / {formatUsd(a.limitUsd)}
              </td>
              <td className="px-3 py-2 text-xs text-slate-600">{a.recipients.join(", ")}</td>
            </tr>
          ))}
          {alerts.data?.length === 0 && (
            <EmptyRow colSpan={ALERT_COLUMNS.length} testId="alerts-empty">
              No alert has been sent yet.
            </EmptyRow>
          )}
        </DataTable>
      </LoadState>
    </div>
  );
}
