"use client";

import { useInfiniteQuery } from "@tanstack/react-query";
import { formatDateTime, formatShortDateTime, formatInt, formatMs, formatUsd } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

const PAGE_SIZE = 50;

export function RequestsView() {
  const trpc = useTRPC();
  const query = useInfiniteQuery(
    trpc.usage.requests.infiniteQueryOptions(
      { limit: PAGE_SIZE },
      { getNextPageParam: (page) => page.nextCursor },
    ),
  );
  const rows = query.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <div>
      <PageHeader title="Requests" />
      <LoadState error={query.error}>
        <Panel className="overflow-x-auto">
          <table
            className="min-w-full text-sm"
            data-testid="requests-table"
            aria-busy={query.isPending}
          >
            <thead className="whitespace-nowrap border-b border-slate-200 bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th className="px-3 py-2 font-medium">Time (UTC)</th>
                <th className="px-3 py-2 font-medium">Key</th>
                <th className="px-3 py-2 font-medium">Model</th>
                <th className="px-3 py-2 font-medium">Provider</th>
                <th className="px-3 py-2 font-medium">Status</th>
                <th className="px-3 py-2 text-right font-medium">Tokens in/out</th>
                <th className="px-3 py-2 text-right font-medium">Cost</th>
                <th className="px-3 py-2 text-right font-medium">Latency</th>
                <th className="px-3 py-2 text-right font-medium">TTFT</th>
                <th className="px-3 py-2 font-medium">Stream</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {rows.map((r) => (
                <tr
                  key={r.id}
                  data-testid="request-row"
                  data-request-id={r.requestId}
                  className="hover:bg-slate-50"
                >
                  <td
                    className="whitespace-nowrap px-3 py-2 tabular-nums text-slate-600"
                    title={`${formatDateTime(r.createdAt)} · ${r.requestId}`}
                  >
                    {formatShortDateTime(r.createdAt)}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2">
                    <span className="font-medium">{r.keyName ?? "deleted key"}</span>
                    {r.keyPrefix && (
                      <span className="ml-1 font-mono text-xs text-slate-400">{r.keyPrefix}…</span>
                    )}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2" data-testid="request-model">
                    {r.requestedModel}
                    {r.servedModel && r.servedModel !== r.requestedModel && (
                      <span className="text-slate-500"> → {r.servedModel}</span>
                    )}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                    {r.provider ?? "—"}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2" data-testid="request-status">
                    <Badge tone={r.status < 400 ? "green" : "red"}>{r.status}</Badge>
                    {r.cacheStatus !== "miss" && r.cacheStatus !== "bypass" && (
                      <span className="ml-1 text-xs text-slate-500">cache {r.cacheStatus}</span>
                    )}
                  </td>
                  <td
                    className="whitespace-nowrap px-3 py-2 text-right tabular-nums"
                    data-testid="request-tokens"
                  >
                    {formatInt(r.inputTokens)} / {formatInt(r.outputTokens)}
                    {r.estimated && (
                      <span className="ml-1 text-xs text-slate-400" title="Estimated by Switchyard">
                        est.
                      </span>
                    )}
                  </td>
                  <td
                    className="whitespace-nowrap px-3 py-2 text-right tabular-nums"
                    data-testid="request-cost"
                    data-value={r.costUsd ?? "unpriced"}
                  >
                    {r.costUsd === null ? (
                      <Badge tone="amber">unpriced</Badge>
                    ) : (
                      formatUsd(r.costUsd)
                    )}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-right tabular-nums">
                    {formatMs(r.latencyMs)}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-right tabular-nums">
                    {formatMs(r.ttftMs)}
                  </td>
                  <td className="px-3 py-2 text-slate-600">{r.stream ? "yes" : "no"}</td>
                </tr>
              ))}
              {!query.isPending && rows.length === 0 && (
                <tr>
                  <td
                    colSpan={10}
                    className="px-3 py-10 text-center text-slate-500"
                    data-testid="requests-empty"
                  >
                    No requests yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </Panel>
        {query.hasNextPage && (
          <div className="mt-4 flex justify-center">
            <button
              type="button"
              onClick={() => void query.fetchNextPage()}
              disabled={query.isFetchingNextPage}
              data-testid="requests-load-more"
              className="rounded-md border border-slate-300 bg-white px-4 py-2 text-sm hover:bg-slate-50 disabled:opacity-60"
            >
              {query.isFetchingNextPage ? "Loading…" : "Load more"}
            </button>
          </div>
        )}
      </LoadState>
    </div>
  );
}
