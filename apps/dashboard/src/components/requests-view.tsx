"use client";

import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import type { inferRouterInputs } from "@trpc/server";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { formatDateTime, formatShortDateTime, formatInt, formatUsd } from "../lib/format";
import { formatRequestLine } from "../lib/log-line";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import { buttonClass, Field, OptionSelect, primaryClass, TextField } from "./form-bits";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

const PAGE_SIZE = 50;

type RequestsInput = inferRouterInputs<AppRouter>["usage"]["requests"];
type Filters = Omit<RequestsInput, "limit" | "cursor">;

/** The filter form's text fields; "" = no filter. */
interface Draft {
  from: string;
  to: string;
  teamId: string;
  keyId: string;
  model: string;
  provider: string;
  statusClass: "" | "2xx" | "4xx" | "5xx" | "499";
  user: string;
  tag: string;
  cacheStatus: "" | "hit" | "miss" | "semantic-hit" | "bypass";
  pricing: "" | "priced" | "unpriced" | "estimated";
  search: string;
}

type TextFilterField = "search" | "from" | "to" | "model" | "provider" | "user" | "tag";

const EMPTY: Draft = {
  from: "",
  to: "",
  teamId: "",
  keyId: "",
  model: "",
  provider: "",
  statusClass: "",
  user: "",
  tag: "",
  cacheStatus: "",
  pricing: "",
  search: "",
};

const STATUS_OPTIONS = [
  { value: "", label: "any status" },
  { value: "2xx", label: "2xx" },
  { value: "4xx", label: "4xx" },
  { value: "5xx", label: "5xx" },
  { value: "499", label: "499 (client closed)" },
] as const;

const CACHE_OPTIONS = [
  { value: "", label: "any cache" },
  { value: "hit", label: "hit" },
  { value: "semantic-hit", label: "semantic hit" },
  { value: "miss", label: "miss" },
  { value: "bypass", label: "bypass" },
] as const;

const PRICING_OPTIONS = [
  { value: "", label: "any pricing" },
  { value: "priced", label: "priced" },
  { value: "unpriced", label: "unpriced" },
  { value: "estimated", label: "estimated usage" },
] as const;

/** "2026-11-30" (a UTC day) → that day's start; the "to" day is included, so it ends a day later. */
function utcDay(text: string, endOfDay: boolean): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const start = new Date(`${text}T00:00:00Z`);
  return endOfDay ? new Date(start.getTime() + 24 * 3600 * 1000) : start;
}

function filtersOf(d: Draft): Filters {
  const text = (s: string) => (s.trim() === "" ? undefined : s.trim());
  return {
    from: utcDay(d.from, false),
    to: utcDay(d.to, true),
    teamId: text(d.teamId),
    keyId: text(d.keyId),
    model: text(d.model),
    provider: text(d.provider),
    statusClass: d.statusClass === "" ? undefined : d.statusClass,
    user: text(d.user),
    tag: text(d.tag),
    cacheStatus: d.cacheStatus === "" ? undefined : d.cacheStatus,
    pricing: d.pricing === "" ? undefined : d.pricing,
    search: text(d.search),
  };
}

export function RequestsView() {
  const trpc = useTRPC();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [filters, setFilters] = useState<Filters>({});
  const teams = useQuery(trpc.teams.list.queryOptions({}));
  const keys = useQuery(trpc.keys.list.queryOptions(draft.teamId ? { teamId: draft.teamId } : {}));
  const query = useInfiniteQuery(
    trpc.usage.requests.infiniteQueryOptions(
      { limit: PAGE_SIZE, ...filters },
      { getNextPageParam: (page) => page.nextCursor },
    ),
  );
  const rows = query.data?.pages.flatMap((page) => page.items) ?? [];
  const set =
    <K extends keyof Draft>(k: K) =>
    (v: Draft[K]) =>
      setDraft((d) => ({ ...d, [k]: v }));

  const textFilter = (
    k: TextFilterField,
    label: string,
    opts: { className?: string; type?: "date"; placeholder?: string } = {},
  ) => (
    <TextField label={label} value={draft[k]} onChange={set(k)} testId={`filter-${k}`} {...opts} />
  );

  function apply(e: FormEvent) {
    e.preventDefault();
    setFilters(filtersOf(draft));
  }

  function reset() {
    setDraft(EMPTY);
    setFilters({});
  }

  const teamOptions = [
    { value: "", label: "all teams" },
    ...(teams.data ?? []).map((t) => ({ value: t.id, label: t.name })),
  ];
  const keyOptions = [
    { value: "", label: "all keys" },
    ...(keys.data ?? []).map((k) => ({ value: k.id, label: `${k.name} (${k.prefix}…)` })),
  ];

  return (
    <div>
      <PageHeader title="Requests" />
      <Panel className="mb-4 p-4">
        <form
          onSubmit={apply}
          className="flex flex-wrap items-end gap-3"
          data-testid="request-filters"
        >
          {textFilter("search", "Request id", {
            className: "w-56 font-mono",
            placeholder: "id or its start",
          })}
          {textFilter("from", "From (UTC)", { type: "date" })}
          {textFilter("to", "To (UTC, included)", { type: "date" })}
          <Field label="Team">
            <OptionSelect
              value={draft.teamId}
              onChange={(v) => setDraft((d) => ({ ...d, teamId: v, keyId: "" }))}
              options={teamOptions}
              testId="filter-team"
            />
          </Field>
          <Field label="Key">
            <OptionSelect
              value={draft.keyId}
              onChange={set("keyId")}
              options={keyOptions}
              testId="filter-key"
            />
          </Field>
          {textFilter("model", "Model (asked or served)", { className: "w-40" })}
          {textFilter("provider", "Provider", { className: "w-32" })}
          <Field label="Status">
            <OptionSelect
              value={draft.statusClass}
              onChange={set("statusClass")}
              options={STATUS_OPTIONS}
              testId="filter-status"
            />
          </Field>
          {textFilter("user", "User", { className: "w-32" })}
          {textFilter("tag", "Tag", { className: "w-36", placeholder: "key=value" })}
          <Field label="Cache">
            <OptionSelect
              value={draft.cacheStatus}
              onChange={set("cacheStatus")}
              options={CACHE_OPTIONS}
              testId="filter-cache"
            />
          </Field>
          <Field label="Pricing">
            <OptionSelect
              value={draft.pricing}
              onChange={set("pricing")}
              options={PRICING_OPTIONS}
              testId="filter-pricing"
            />
          </Field>
          <button type="submit" className={primaryClass} data-testid="filter-apply">
            Apply
          </button>
          <button type="button" className={buttonClass} onClick={reset} data-testid="filter-reset">
            Reset
          </button>
        </form>
      </Panel>
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
                <th className="px-3 py-2 font-medium">Request</th>
                <th className="px-3 py-2 font-medium">Model</th>
                <th className="px-3 py-2 font-medium">Status</th>
                <th className="px-3 py-2 text-right font-medium">Tokens in/out</th>
                <th className="px-3 py-2 text-right font-medium">Cost</th>
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
                    className="whitespace-nowrap px-3 py-2 align-top tabular-nums text-slate-600"
                    title={formatDateTime(r.createdAt)}
                  >
                    {formatShortDateTime(r.createdAt)}
                  </td>
                  <td className="px-3 py-2">
                    <Link
                      href={`/requests/${encodeURIComponent(r.requestId)}`}
                      className="font-mono text-xs text-slate-800 hover:underline"
                      data-testid="request-line"
                    >
                      {formatRequestLine(r)}
                    </Link>
                    <div className="mt-1 flex flex-wrap items-center gap-1.5 text-xs text-slate-500">
                      <span className="font-mono">{r.requestId}</span>
                      <span>·</span>
                      <span>{r.teamName ?? "—"}</span>
                      <span>·</span>
                      <span>
                        {r.keyName ?? "deleted key"}
                        {r.keyPrefix && (
                          <span className="ml-1 font-mono text-slate-400">{r.keyPrefix}…</span>
                        )}
                      </span>
                      {r.endUser && <span>· user {r.endUser}</span>}
                      {r.estimated && (
                        <Badge tone="amber" testId="request-estimated">
                          estimated usage
                        </Badge>
                      )}
                    </div>
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 align-top" data-testid="request-model">
                    {r.requestedModel}
                    {r.servedModel && r.servedModel !== r.requestedModel && (
                      <span className="text-slate-500"> → {r.servedModel}</span>
                    )}
                  </td>
                  <td
                    className="whitespace-nowrap px-3 py-2 align-top"
                    data-testid="request-status"
                  >
                    <Badge tone={r.status < 400 ? "green" : "red"}>{r.status}</Badge>
                    {r.cacheStatus !== "miss" && r.cacheStatus !== "bypass" && (
                      <span className="ml-1 text-xs text-slate-500">cache {r.cacheStatus}</span>
                    )}
                  </td>
                  <td
                    className="whitespace-nowrap px-3 py-2 text-right align-top tabular-nums"
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
                    className="whitespace-nowrap px-3 py-2 text-right align-top tabular-nums"
                    data-testid="request-cost"
                    data-value={r.costUsd ?? "unpriced"}
                  >
                    {r.costUsd === null ? (
                      <Badge tone="amber">unpriced</Badge>
                    ) : (
                      formatUsd(r.costUsd)
                    )}
                  </td>
                </tr>
              ))}
              {!query.isPending && rows.length === 0 && (
                <tr>
                  <td
                    colSpan={6}
                    className="px-3 py-10 text-center text-slate-500"
                    data-testid="requests-empty"
                  >
                    {Object.values(filters).some((v) => v !== undefined)
                      ? "No requests match these filters."
                      : "No requests yet."}
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
