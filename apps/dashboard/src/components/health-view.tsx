"use client";

import { useQuery } from "@tanstack/react-query";
import { formatDateTime, formatInt, formatPercent } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { DataTable, EmptyRow } from "./form-bits";
import { OrgPicker, useOrgChoice } from "./org-choice";
import { Badge, LoadState, PageHeader } from "./ui";

/** How often the page reads the counters again. */
const REFRESH_MS = 5000;

const STATE_TONE = { closed: "green", open: "red", "half-open": "amber", recovering: "blue" } as const;
const STATE_HELP = {
  closed: "Taking traffic.",
  open: "Too many errors: no traffic until the open period ends.",
  "half-open": "Being probed: one request at a time decides.",
  recovering: "Probe succeeded: traffic is coming back gradually.",
} as const;

function windowText(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

/**
 * Each target's health as all proxies share it: circuit state, requests and error rate
 * over the health window, average latency and when an open circuit is probed.
 * Refreshes every 5 seconds.
 */
export function HealthView() {
  const trpc = useTRPC();
  const choice = useOrgChoice();
  const { orgId } = choice;
  const health = useQuery({
    ...trpc.health.list.queryOptions({ orgId }),
    enabled: orgId !== "",
    refetchInterval: REFRESH_MS,
    staleTime: 0,
  });
  const data = health.data;
  const columns = ["Model", "Provider", "State", "Requests", "Errors", "Error rate", "Avg latency", "Open until"];

  return (
    <div>
      <PageHeader title="Health">
        <OrgPicker choice={choice} testId="health-org" />
      </PageHeader>
      <p className="mb-4 text-sm text-slate-500" data-testid="health-summary">
        Counts over the proxies&apos; last {data?.windowMs ? windowText(data.windowMs) : "window"}, all replicas
        together. A target whose errors pass the threshold opens its circuit, is probed, and takes traffic back
        gradually. Refreshes every {REFRESH_MS / 1000} s
        {data && <> (read {formatDateTime(data.checkedAt)})</>}.
      </p>
      <LoadState error={choice.orgs.error ?? health.error}>
        {data?.error && (
          <p role="alert" data-testid="health-error" className="mb-4 rounded-md bg-amber-50 px-4 py-3 text-sm text-amber-800">
            {data.error}
          </p>
        )}
        <DataTable testId="health-table" busy={health.isPending} columns={columns}>
          {(data?.targets ?? []).map((t) => (
            <tr key={t.model} data-testid="health-row" data-model={t.model} data-state={t.state}>
              <td className="px-3 py-2 font-mono text-xs font-medium">{t.model}</td>
              <td className="px-3 py-2">{t.provider}</td>
              <td className="px-3 py-2" title={STATE_HELP[t.state]}>
                <Badge tone={STATE_TONE[t.state]} testId="health-state">
                  {t.state}
                </Badge>
              </td>
              <td className="px-3 py-2 text-right tabular-nums" data-testid="health-requests">
                {formatInt(t.requests)}
              </td>
              <td className="px-3 py-2 text-right tabular-nums" data-testid="health-errors">
                {formatInt(t.errors)}
              </td>
              <td className="px-3 py-2 text-right tabular-nums" data-testid="health-error-rate">
                {t.errorRate === null ? "—" : formatPercent(t.errorRate)}
              </td>
              <td className="px-3 py-2 text-right tabular-nums" data-testid="health-latency">
                {t.avgLatencyMs === null ? "—" : `${Math.round(t.avgLatencyMs)} ms`}
              </td>
              <td className="px-3 py-2 text-xs" data-testid="health-open-until">
                {t.openUntil ? formatDateTime(t.openUntil) : "—"}
              </td>
            </tr>
          ))}
          {data && !data.error && data.targets.length === 0 && (
            <EmptyRow colSpan={columns.length} testId="health-empty">
              No models yet.
            </EmptyRow>
          )}
        </DataTable>
      </LoadState>
    </div>
  );
}
