"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState, type FormEvent } from "react";
import { formatDateTime, formatInt } from "../lib/format";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import {
  buttonClass,
  DangerButton,
  DataTable,
  EmptyRow,
  ErrorLine,
  OptionSelect,
  primaryClass,
  TextField,
} from "./form-bits";
import { CustomModelsSection } from "./custom-models";
import { useOrgChoice } from "./org-choice";
import { Badge, LoadState, PageHeader, Panel, PanelTitle } from "./ui";

type Prices = inferRouterOutputs<AppRouter>["prices"]["list"];
type Rates = Pick<
  Prices["registry"][number],
  "inputPerMTok" | "outputPerMTok" | "cachedInputPerMTok" | "cacheWritePerMTok" | "reasoningPerMTok"
>;

const RATE_FIELDS = [
  { key: "inputPerMTok", label: "Input", required: true },
  { key: "outputPerMTok", label: "Output", required: true },
  { key: "cachedInputPerMTok", label: "Cached input", required: false },
  { key: "cacheWritePerMTok", label: "Cache write", required: false },
  { key: "reasoningPerMTok", label: "Reasoning", required: false },
] as const;

const RATE_COLUMNS = RATE_FIELDS.map((f) => `${f.label} $/MTok`);

type Draft = { upstreamModel: string; note: string } & Record<
  (typeof RATE_FIELDS)[number]["key"],
  string
>;

const EMPTY_DRAFT: Draft = {
  upstreamModel: "",
  note: "",
  inputPerMTok: "",
  outputPerMTok: "",
  cachedInputPerMTok: "",
  cacheWritePerMTok: "",
  reasoningPerMTok: "",
};

function RateCells({ rates }: { rates: Rates }) {
  return (
    <>
      {RATE_FIELDS.map((f) => (
        <td key={f.key} className="px-3 py-2 text-right tabular-nums">
          {rates[f.key] ?? "—"}
        </td>
      ))}
    </>
  );
}

/** The price registry, the organisation's overrides (org admins edit) and its unpriced models. */
export function PricesView() {
  const trpc = useTRPC();
  const client = useQueryClient();
  const { orgs, list, orgId, setPicked } = useOrgChoice();
  const prices = useQuery({ ...trpc.prices.list.queryOptions({ orgId }), enabled: orgId !== "" });
  const [draft, setDraft] = useState<Draft>(EMPTY_DRAFT);
  const refresh = () => client.invalidateQueries({ queryKey: trpc.prices.pathKey() });
  const save = useMutation(
    trpc.prices.setOverride.mutationOptions({
      onSuccess: async () => {
        setDraft(EMPTY_DRAFT);
        await refresh();
      },
    }),
  );
  const remove = useMutation(trpc.prices.deleteOverride.mutationOptions({ onSuccess: refresh }));
  const data = prices.data;
  const canEdit = data?.canEdit ?? false;

  function submit(e: FormEvent) {
    e.preventDefault();
    const opt = (v: string) => (v.trim() === "" ? undefined : v.trim());
    save.mutate({
      orgId,
      upstreamModel: draft.upstreamModel,
      note: opt(draft.note) ?? null,
      pricing: {
        inputPerMTok: draft.inputPerMTok.trim(),
        outputPerMTok: draft.outputPerMTok.trim(),
        cachedInputPerMTok: opt(draft.cachedInputPerMTok),
        cacheWritePerMTok: opt(draft.cacheWritePerMTok),
        reasoningPerMTok: opt(draft.reasoningPerMTok),
      },
    });
  }

  function edit(o: Prices["overrides"][number]) {
    setDraft({
      upstreamModel: o.upstreamModel,
      note: o.note ?? "",
      inputPerMTok: o.inputPerMTok,
      outputPerMTok: o.outputPerMTok,
      cachedInputPerMTok: o.cachedInputPerMTok ?? "",
      cacheWritePerMTok: o.cacheWritePerMTok ?? "",
      reasoningPerMTok: o.reasoningPerMTok ?? "",
    });
  }

  return (
    <div>
      <PageHeader title="Prices">
        {list.length > 1 && (
          <OptionSelect
            value={orgId}
            onChange={setPicked}
            options={list.map((o) => ({ value: o.id, label: o.name }))}
            testId="prices-org"
          />
        )}
      </PageHeader>
      <LoadState error={orgs.error ?? prices.error}>
        <section className="mb-8" data-testid="unpriced-models">
          <h2 className="mb-2 text-sm font-semibold text-slate-700">Models without a price</h2>
          <p className="mb-3 text-sm text-slate-500">
            Requests to these are recorded <Badge tone="amber">unpriced</Badge>, never as $0. Add an
            override to price them.
          </p>
          <DataTable
            testId="unpriced-table"
            busy={prices.isPending}
            columns={[
              "Model",
              "Upstream model",
              "Provider",
              "Unpriced requests (30 days)",
              ...(canEdit ? [""] : []),
            ]}
          >
            {(data?.unpriced ?? []).map((u) => (
              <tr key={u.model} data-testid="unpriced-row" data-model={u.model}>
                <td className="px-3 py-2 font-medium">
                  {u.model} <Badge tone="amber">unpriced</Badge>
                </td>
                <td className="px-3 py-2 font-mono text-xs">{u.upstreamModel ?? "—"}</td>
                <td className="px-3 py-2">{u.provider ?? "—"}</td>
                <td className="px-3 py-2 tabular-nums" data-testid="unpriced-count">
                  {formatInt(u.unpricedRequests30d)}
                </td>
                {canEdit && (
                  <td className="px-3 py-2">
                    <button
                      type="button"
                      className={buttonClass}
                      onClick={() =>
                        setDraft({ ...EMPTY_DRAFT, upstreamModel: u.upstreamModel ?? u.model })
                      }
                      data-testid="unpriced-add-price"
                    >
                      Add a price
                    </button>
                  </td>
                )}
              </tr>
            ))}
            {data && data.unpriced.length === 0 && (
              <EmptyRow colSpan={canEdit ? 5 : 4} testId="unpriced-empty">
                Every model in use has a price.
              </EmptyRow>
            )}
          </DataTable>
        </section>

        <section className="mb-8" data-testid="price-overrides">
          <h2 className="mb-2 text-sm font-semibold text-slate-700">
            This organisation&apos;s prices
          </h2>
          <p className="mb-3 text-sm text-slate-500">
            An override wins over a model&apos;s configured price and the registry below. USD per
            million tokens, exact decimals.
          </p>
          <DataTable
            testId="overrides-table"
            busy={prices.isPending}
            columns={[
              "Upstream model",
              ...RATE_COLUMNS,
              "Note",
              "Updated",
              ...(canEdit ? [""] : []),
            ]}
          >
            {(data?.overrides ?? []).map((o) => (
              <tr key={o.id} data-testid="override-row" data-model={o.upstreamModel}>
                <td className="px-3 py-2 font-mono text-xs">{o.upstreamModel}</td>
                <RateCells rates={o} />
                <td className="px-3 py-2 text-slate-600">{o.note ?? ""}</td>
                <td className="whitespace-nowrap px-3 py-2 text-slate-500">
                  {formatDateTime(o.updatedAt)}
                </td>
                {canEdit && (
                  <td className="whitespace-nowrap px-3 py-2">
                    <button
                      type="button"
                      className={`${buttonClass} mr-2`}
                      onClick={() => edit(o)}
                      data-testid="override-edit"
                    >
                      Edit
                    </button>
                    <DangerButton
                      onClick={() => {
                        if (window.confirm(`Remove the price override for ${o.upstreamModel}?`))
                          remove.mutate({ orgId, overrideId: o.id });
                      }}
                      disabled={remove.isPending}
                      testId="override-delete"
                    >
                      Delete
                    </DangerButton>
                  </td>
                )}
              </tr>
            ))}
            {data && data.overrides.length === 0 && (
              <EmptyRow colSpan={RATE_COLUMNS.length + (canEdit ? 4 : 3)} testId="overrides-empty">
                No overrides: the registry and configured prices apply.
              </EmptyRow>
            )}
          </DataTable>
          {canEdit && (
            <Panel className="mt-4">
              <PanelTitle>Set a price</PanelTitle>
              <form
                onSubmit={submit}
                className="flex flex-wrap items-end gap-3 p-4"
                data-testid="override-form"
              >
                <TextField
                  label="Upstream model"
                  className="w-52 font-mono"
                  value={draft.upstreamModel}
                  onChange={(v) => setDraft({ ...draft, upstreamModel: v })}
                  placeholder="e.g. llama3"
                  testId="override-model"
                />
                {RATE_FIELDS.map((f) => (
                  <TextField
                    key={f.key}
                    label={`${f.label} $/MTok${f.required ? "" : " (optional)"}`}
                    className="w-28"
                    inputMode="decimal"
                    value={draft[f.key]}
                    onChange={(v) => setDraft({ ...draft, [f.key]: v })}
                    testId={`override-${f.key}`}
                  />
                ))}
                <TextField
                  label="Note (optional)"
                  className="w-52"
                  value={draft.note}
                  onChange={(v) => setDraft({ ...draft, note: v })}
                  testId="override-note"
                />
                <button
                  type="submit"
                  className={primaryClass}
                  disabled={save.isPending}
                  data-testid="override-save"
                >
                  Save price
                </button>
              </form>
              <div className="px-4 pb-4">
                <ErrorLine error={save.error ?? remove.error} />
              </div>
            </Panel>
          )}
        </section>

        <CustomModelsSection orgId={orgId} data={data} busy={prices.isPending} />

        <section data-testid="price-registry">
          <h2 className="mb-2 text-sm font-semibold text-slate-700">Price registry</h2>
          <p className="mb-3 text-sm text-slate-500">
            List prices read from each provider&apos;s pricing page. Past prices are kept so older
            requests stay costed at the price of their day.
          </p>
          <DataTable
            testId="registry-table"
            busy={prices.isPending}
            columns={["Provider", "Model", ...RATE_COLUMNS, "Effective from", "Source"]}
          >
            {(data?.registry ?? []).map((p) => (
              <tr
                key={`${p.provider}/${p.model}/${p.effectiveFrom}`}
                data-testid="registry-row"
                data-model={p.model}
                className={p.current ? "" : "text-slate-400"}
              >
                <td className="px-3 py-2">{p.provider}</td>
                <td className="px-3 py-2 font-mono text-xs">
                  {p.model} {!p.current && <Badge>past</Badge>}
                </td>
                <RateCells rates={p} />
                <td className="whitespace-nowrap px-3 py-2">{p.effectiveFrom}</td>
                <td className="px-3 py-2">
                  <a
                    href={p.source}
                    target="_blank"
                    rel="noreferrer"
                    className="text-slate-600 underline"
                  >
                    pricing page
                  </a>
                </td>
              </tr>
            ))}
          </DataTable>
        </section>
      </LoadState>
    </div>
  );
}
