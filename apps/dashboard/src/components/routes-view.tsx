"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import { conditionText, emptyRouteDraft, routeDraftOf, routeSettingsOf, type RouteDraft } from "../lib/route-form";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import { buttonClass, DangerButton, DataTable, EmptyRow } from "./form-bits";
import { OrgPicker, useOrgChoice } from "./org-choice";
import { RouteForm } from "./route-form";
import { Badge, LoadState, PageHeader } from "./ui";

type RouteRow = inferRouterOutputs<AppRouter>["routes"]["list"]["routes"][number];

function TargetsCell({ route }: { route: RouteRow }) {
  return (
    <ul className="space-y-0.5" data-testid="route-targets">
      {route.targets.map((t, i) => (
        <li key={i} className="font-mono text-xs" data-testid="route-target">
          {t.model}
          {route.strategy === "weighted" && <span className="text-slate-500"> ×{t.weight ?? 1}</span>}
          {t.when && <span className="text-slate-500"> when {conditionText(t.when)}</span>}
          {route.strategy === "conditional" && !t.when && <span className="text-slate-500"> (default)</span>}
        </li>
      ))}
    </ul>
  );
}

function CacheCell({ route }: { route: RouteRow }) {
  const cache = route.options.cache;
  if (!cache) return <span className="text-slate-400">off</span>;
  return (
    <span className="text-xs" data-testid="route-cache-summary">
      {cache.ttlSeconds} s, per {cache.scope}
      {cache.semantic &&
        `; semantic via ${cache.semantic.embeddingModel} ≥ ${cache.semantic.threshold}, temp ≤ ${cache.semantic.maxTemperature}`}
    </span>
  );
}

function MaxTokensCell({ route }: { route: RouteRow }) {
  const m = route.options.maxTokens;
  if (!m || (m.default === undefined && m.cap === undefined)) return <span className="text-slate-400">—</span>;
  return (
    <span className="text-xs tabular-nums" data-testid="route-max-tokens">
      {m.default !== undefined && `default ${m.default}`}
      {m.default !== undefined && m.cap !== undefined && ", "}
      {m.cap !== undefined && `cap ${m.cap}`}
    </span>
  );
}

/**
 * Routes: aliases clients send as `model`, resolved to targets by a strategy. Routes from
 * switchyard.yaml are shown read-only; org admins add and edit the organisation's own.
 */
export function RoutesView() {
  const trpc = useTRPC();
  const client = useQueryClient();
  const choice = useOrgChoice();
  const { orgId } = choice;
  const routes = useQuery({ ...trpc.routes.list.queryOptions({ orgId }), enabled: orgId !== "" });
  const data = routes.data;
  const models = data?.models ?? [];
  const canEdit = data?.canEdit ?? false;
  const [editingId, setEditingId] = useState<string | null>(null);
  const [draft, setDraft] = useState<RouteDraft | null>(null);
  const [formError, setFormError] = useState<{ message: string } | null>(null);
  const current = draft ?? emptyRouteDraft(models[0] ?? "");

  const reset = async () => {
    setEditingId(null);
    setDraft(null);
    setFormError(null);
    await client.invalidateQueries({ queryKey: trpc.routes.pathKey() });
  };
  const create = useMutation(trpc.routes.create.mutationOptions({ onSuccess: reset }));
  const update = useMutation(trpc.routes.update.mutationOptions({ onSuccess: reset }));
  const remove = useMutation(trpc.routes.delete.mutationOptions({ onSuccess: reset }));
  const saving = editingId === null ? create : update;

  function save() {
    const settings = routeSettingsOf(current);
    if ("error" in settings) {
      setFormError({ message: settings.error });
      return;
    }
    setFormError(null);
    if (editingId === null) create.mutate({ orgId, route: settings });
    else update.mutate({ orgId, routeId: editingId, route: settings });
  }

  function edit(r: RouteRow) {
    create.reset();
    update.reset();
    setFormError(null);
    setEditingId(r.id);
    setDraft(routeDraftOf(r));
  }

  const columns = ["Alias", "Strategy", "Targets", "Cache", "Max tokens", "Source", ...(canEdit ? [""] : [])];
  return (
    <div>
      <PageHeader title="Routes">
        <OrgPicker choice={choice} testId="routes-org" />
      </PageHeader>
      <p className="mb-4 text-sm text-slate-500">
        A route is a name clients send as <code>model</code>; the proxy serves it from its targets by the
        strategy, failing over on errors. Routes from <code>switchyard.yaml</code> are changed there.
      </p>
      <LoadState error={choice.orgs.error ?? routes.error}>
        <DataTable testId="routes-table" busy={routes.isPending} columns={columns}>
          {(data?.routes ?? []).map((r) => (
            <tr key={r.id} data-testid="route-row" data-alias={r.alias}>
              <td className="px-3 py-2 align-top font-mono text-xs font-medium">
                {r.alias}
                {r.invalid && (
                  <>
                    {" "}
                    <Badge tone="amber">partly invalid</Badge>
                  </>
                )}
              </td>
              <td className="px-3 py-2 align-top" data-testid="route-strategy-cell">
                {r.strategy}
                {r.options.sticky && <span className="text-xs text-slate-500"> (sticky)</span>}
              </td>
              <td className="px-3 py-2 align-top">
                <TargetsCell route={r} />
              </td>
              <td className="px-3 py-2 align-top">
                <CacheCell route={r} />
              </td>
              <td className="px-3 py-2 align-top">
                <MaxTokensCell route={r} />
              </td>
              <td className="px-3 py-2 align-top" data-testid="route-source">
                {r.source === "CONFIG_FILE" ? (
                  <Badge testId="route-readonly">switchyard.yaml</Badge>
                ) : r.instanceWide ? (
                  <Badge>instance-wide</Badge>
                ) : (
                  <Badge tone="green">dashboard</Badge>
                )}
              </td>
              {canEdit && (
                <td className="px-3 py-2 align-top">
                  {r.editable && (
                    <div className="flex gap-2">
                      <button type="button" className={buttonClass} onClick={() => edit(r)} data-testid="route-edit">
                        Edit
                      </button>
                      <DangerButton
                        onClick={() => {
                          if (window.confirm(`Delete the route ${r.alias}? Keys sending it get a 404.`))
                            remove.mutate({ orgId, routeId: r.id });
                        }}
                        disabled={remove.isPending}
                        testId="route-delete"
                      >
                        Delete
                      </DangerButton>
                    </div>
                  )}
                </td>
              )}
            </tr>
          ))}
          {data && data.routes.length === 0 && (
            <EmptyRow colSpan={columns.length} testId="routes-empty">
              No routes yet.
            </EmptyRow>
          )}
        </DataTable>
        {canEdit && (
          <RouteForm
            key={editingId ?? "new"}
            draft={current}
            setDraft={setDraft}
            models={models}
            editing={editingId !== null}
            pending={saving.isPending}
            error={formError ?? saving.error ?? remove.error}
            onSubmit={save}
            onCancel={() => void reset()}
          />
        )}
      </LoadState>
    </div>
  );
}
