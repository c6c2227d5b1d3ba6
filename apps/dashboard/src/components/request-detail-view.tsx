"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import type { ReactNode } from "react";
import { formatDateTime, formatInt, formatMs, formatUsd } from "../lib/format";
import { endpointPath, formatRequestLine } from "../lib/log-line";
import { useTRPC } from "../trpc/react";
import { Badge, LoadState, PageHeader, Panel, PanelTitle } from "./ui";

function Row({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="grid grid-cols-3 gap-2 px-4 py-1.5 text-sm">
      <dt className="text-slate-500">{label}</dt>
      <dd className="col-span-2 break-all" data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}

const money = (usd: string | null) =>
  usd === null ? <Badge tone="amber">unpriced</Badge> : formatUsd(usd);

/** One request: every logged field, the savings line, attribution, and its bodies when kept. */
export function RequestDetailView({ requestId }: { requestId: string }) {
  const trpc = useTRPC();
  const detail = useQuery(trpc.usage.request.queryOptions({ requestId }));
  const d = detail.data;
  const r = d?.request;
  return (
    <div>
      <PageHeader title="Request">
        <Link href="/requests" className="text-sm text-slate-600 hover:text-slate-900">
          ← All requests
        </Link>
      </PageHeader>
      <LoadState error={detail.error}>
        {d && r && (
          <div className="space-y-6" data-testid="request-detail" data-request-id={r.requestId}>
            <p
              className="rounded-md bg-slate-900 px-4 py-3 font-mono text-xs text-slate-100"
              data-testid="detail-line"
            >
              {formatRequestLine(r)}
            </p>
            <div className="grid gap-6 lg:grid-cols-2">
              <Panel>
                <PanelTitle>Request</PanelTitle>
                <dl className="py-2">
                  <Row label="Request id">
                    <span className="font-mono">{r.requestId}</span>
                  </Row>
                  <Row label="Time">{formatDateTime(r.createdAt)}</Row>
                  <Row label="Endpoint">{endpointPath(r.endpoint)}</Row>
                  <Row label="Team">{r.teamName ?? "—"}</Row>
                  <Row label="Key">
                    {r.keyName ?? "deleted key"}
                    {r.keyPrefix && (
                      <span className="ml-1 font-mono text-xs text-slate-400">{r.keyPrefix}…</span>
                    )}
                  </Row>
                  <Row label="User" testId="detail-user">
                    {r.endUser ?? "—"}
                  </Row>
                  <Row label="Tags" testId="detail-tags">
                    {Object.keys(r.tags).length === 0
                      ? "—"
                      : Object.entries(r.tags).map(([k, v]) => (
                          <span key={k} className="mr-1 inline-block">
                            <Badge>
                              {k}={v}
                            </Badge>
                          </span>
                        ))}
                  </Row>
                  <Row label="Model asked for">{r.requestedModel}</Row>
                  <Row label="Served by" testId="detail-served">
                    {r.servedModel ?? "—"}
                    {r.provider && <span className="text-slate-500"> via {r.provider}</span>}
                  </Row>
                  <Row label="Status" testId="detail-status">
                    <Badge tone={r.status < 400 ? "green" : "red"}>{r.status}</Badge>
                    {r.errorClass && <span className="ml-1 text-slate-600">{r.errorClass}</span>}
                  </Row>
                  <Row label="Attempts" testId="detail-attempts">
                    {r.attempts}
                    {d.attemptLog.length > 0 && (
                      <ol
                        className="mt-1 space-y-0.5 text-xs text-slate-600"
                        data-testid="detail-attempt-log"
                      >
                        {d.attemptLog.map((a, i) => (
                          <li key={i}>
                            {i + 1}. {a.model} via {a.provider}
                            {a.providerKey && (
                              <span className="text-slate-400"> ({a.providerKey})</span>
                            )}
                            {": "}
                            {a.status === 0 ? "no answer" : `HTTP ${a.status}`}
                            {a.errorClass && <span className="text-red-700"> {a.errorClass}</span>}
                            {` in ${formatMs(a.durationMs)}`}
                            {a.waitMs > 0 && (
                              <span className="text-slate-400">{` after waiting ${formatMs(a.waitMs)}`}</span>
                            )}
                          </li>
                        ))}
                      </ol>
                    )}
                  </Row>
                  <Row label="Cache">{r.cacheStatus}</Row>
                  <Row label="Latency">{formatMs(r.latencyMs)}</Row>
                  <Row label="Time to first token">{formatMs(r.ttftMs)}</Row>
                  <Row label="Stream">{r.stream ? "yes" : "no"}</Row>
                </dl>
              </Panel>
              <Panel>
                <PanelTitle>Usage and cost</PanelTitle>
                <dl className="py-2">
                  <Row label="Input tokens">{formatInt(r.inputTokens)}</Row>
                  <Row label="Output tokens">{formatInt(r.outputTokens)}</Row>
                  <Row label="Cached input tokens">{formatInt(r.cachedInputTokens)}</Row>
                  <Row label="Cache-write tokens">{formatInt(r.cacheWriteTokens)}</Row>
                  <Row label="Reasoning tokens">{formatInt(r.reasoningTokens)}</Row>
                  <Row label="Usage from" testId="detail-usage-source">
                    {r.estimated ? (
                      <Badge tone="amber">estimated by Switchyard</Badge>
                    ) : (
                      r.usageSource
                    )}
                  </Row>
                  <Row label="Cost" testId="detail-cost">
                    {money(r.costUsd)}
                  </Row>
                  <Row label={`Cost on ${r.requestedModel}`} testId="detail-requested-cost">
                    {money(d.savings.requestedCostUsd)}
                  </Row>
                  <Row label="Saved" testId="detail-saved">
                    {d.savings.savedUsd === null
                      ? "—"
                      : d.savings.savedUsd.startsWith("-")
                        ? `${formatUsd(d.savings.savedUsd.slice(1))} more than ${r.requestedModel}`
                        : formatUsd(d.savings.savedUsd)}
                  </Row>
                  <Row label="Logged">{formatDateTime(r.ingestedAt)}</Row>
                </dl>
              </Panel>
            </div>
            <Panel>
              <PanelTitle>Bodies</PanelTitle>
              {d.bodies ? (
                <div className="space-y-4 p-4" data-testid="detail-bodies">
                  <div className="flex gap-2">
                    {d.bodies.redacted ? (
                      <Badge tone="amber" testId="bodies-redacted">
                        redacted
                      </Badge>
                    ) : (
                      <Badge testId="bodies-full">full</Badge>
                    )}
                    {d.bodies.truncated && <Badge tone="amber">truncated</Badge>}
                  </div>
                  <div>
                    <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">
                      Request
                    </h3>
                    <pre
                      className="max-h-96 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-3 font-mono text-xs"
                      data-testid="body-request"
                    >
                      {d.bodies.request}
                    </pre>
                  </div>
                  <div>
                    <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">
                      Response
                    </h3>
                    <pre
                      className="max-h-96 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-3 font-mono text-xs"
                      data-testid="body-response"
                    >
                      {d.bodies.response}
                    </pre>
                  </div>
                </div>
              ) : (
                <p className="p-4 text-sm text-slate-500" data-testid="bodies-off">
                  {d.bodyLogging === "off"
                    ? "Body logging is off for this team, so prompts and responses are not stored. Team admins can turn it on in the team's settings."
                    : "No bodies were stored for this request (body logging was off when it ran)."}
                </p>
              )}
            </Panel>
          </div>
        )}
      </LoadState>
    </div>
  );
}
