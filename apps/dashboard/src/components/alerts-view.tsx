"use client";

import { useQuery } from "@tanstack/react-query";
import { formatDateTime, formatUsd } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

/** Budget alert emails that were sent, newest first. */
export function AlertsView() {
  const trpc = useTRPC();
  const alerts = useQuery(trpc.alerts.list.queryOptions({}));
  return (
    <div>
      <PageHeader title="Budget alerts sent" />
      <LoadState error={alerts.error}>
        <Panel className="overflow-x-auto">
          <table
            className="min-w-full text-sm"
            data-testid="alerts-table"
            aria-busy={alerts.isPending}
          >
            <thead className="border-b border-slate-200 bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th className="px-3 py-2 font-medium">Sent</th>
                <th className="px-3 py-2 font-medium">Budget</th>
                <th className="px-3 py-2 font-medium">Period from</th>
                <th className="px-3 py-2 font-medium">Threshold</th>
                <th className="px-3 py-2 font-medium">Spent / limit</th>
                <th className="px-3 py-2 font-medium">Recipients</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
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
                <tr>
                  <td
                    colSpan={6}
                    className="px-3 py-10 text-center text-slate-500"
                    data-testid="alerts-empty"
                  >
                    No alert has been sent yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </Panel>
      </LoadState>
    </div>
  );
}
