"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { formatInt } from "../lib/format";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import { buttonClass, DataTable, EmptyRow, ErrorLine, Field, LimitInput, OptionSelect, optionalInt, primaryClass } from "./form-bits";
import { OrgPicker, useOrgChoice } from "./org-choice";
import { Badge, LoadState, PageHeader, Panel, PanelTitle } from "./ui";

type ModelRow = inferRouterOutputs<AppRouter>["models"]["list"]["models"][number];
type Caps = ModelRow["effective"];

const NUMBER_FIELDS = [
  { key: "contextWindow", label: "Context window" },
  { key: "maxOutputTokens", label: "Max output" },
] as const;
const FLAG_FIELDS = [
  { key: "tools", label: "Tools" },
  { key: "vision", label: "Vision" },
  { key: "jsonMode", label: "JSON mode" },
  { key: "streaming", label: "Streaming" },
] as const;
type CapKey = (typeof NUMBER_FIELDS)[number]["key"] | (typeof FLAG_FIELDS)[number]["key"];

function show(v: number | boolean | undefined): string {
  if (v === undefined) return "?";
  if (typeof v === "boolean") return v ? "yes" : "no";
  return formatInt(v);
}

/** One capability: the value in force, marked when it is the model's own rather than the registry's. */
function CapCell({ model, field }: { model: ModelRow; field: CapKey }) {
  const own = model.overrides[field];
  const registry = model.registry?.[field];
  const source = own !== undefined ? "override" : registry !== undefined ? "registry" : "unknown";
  return (
    <td
      className="px-3 py-2 text-right tabular-nums"
      data-testid={`cap-${field}`}
      data-source={source}
      title={
        source === "override"
          ? `Set on this model; the registry says ${show(registry)}`
          : source === "registry"
            ? "From the capability registry"
            : "Unknown: routing does not filter on it"
      }
    >
      <span className={source === "unknown" ? "text-slate-400" : ""}>{show(model.effective[field])}</span>
      {source === "override" && (
        <sup className="ml-0.5 font-semibold text-amber-700" aria-label="override">
          *
        </sup>
      )}
    </td>
  );
}

type Flag = "registry" | "yes" | "no";
type CapsDraft = Record<(typeof NUMBER_FIELDS)[number]["key"], string> & Record<(typeof FLAG_FIELDS)[number]["key"], Flag>;

function draftOf(c: Caps): CapsDraft {
  const flag = (v: boolean | undefined): Flag => (v === undefined ? "registry" : v ? "yes" : "no");
  return {
    contextWindow: c.contextWindow === undefined ? "" : String(c.contextWindow),
    maxOutputTokens: c.maxOutputTokens === undefined ? "" : String(c.maxOutputTokens),
    tools: flag(c.tools),
    vision: flag(c.vision),
    jsonMode: flag(c.jsonMode),
    streaming: flag(c.streaming),
  };
}

const FLAG_OPTIONS = [
  { value: "registry", label: "registry" },
  { value: "yes", label: "yes" },
  { value: "no", label: "no" },
] as const;

function CapabilitiesForm({ orgId, model, onDone }: { orgId: string; model: ModelRow; onDone: () => Promise<void> }) {
  const trpc = useTRPC();
  const [draft, setDraft] = useState<CapsDraft>(() => draftOf(model.overrides));
  const save = useMutation(trpc.models.setCapabilities.mutationOptions({ onSuccess: onDone }));
  const flag = (f: Flag) => (f === "registry" ? null : f === "yes");

  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate({
      orgId,
      modelId: model.id,
      capabilities: {
        contextWindow: optionalInt(draft.contextWindow),
        maxOutputTokens: optionalInt(draft.maxOutputTokens),
        tools: flag(draft.tools),
        vision: flag(draft.vision),
        jsonMode: flag(draft.jsonMode),
        streaming: flag(draft.streaming),
      },
    });
  }

  return (
    <Panel className="mt-4">
      <PanelTitle>Capabilities of {model.name}</PanelTitle>
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3 p-4" data-testid="capabilities-form">
        {NUMBER_FIELDS.map((f) => (
          <Field key={f.key} label={`${f.label} (blank: registry, ${show(model.registry?.[f.key])})`}>
            <LimitInput
              value={draft[f.key]}
              onChange={(v) => setDraft({ ...draft, [f.key]: v })}
              placeholder="registry"
              width="w-32"
              testId={`capabilities-${f.key}`}
            />
          </Field>
        ))}
        {FLAG_FIELDS.map((f) => (
          <Field key={f.key} label={`${f.label} (registry: ${show(model.registry?.[f.key])})`}>
            <OptionSelect
              value={draft[f.key]}
              onChange={(v) => setDraft({ ...draft, [f.key]: v })}
              options={FLAG_OPTIONS}
              testId={`capabilities-${f.key}`}
            />
          </Field>
        ))}
        <button type="submit" className={primaryClass} disabled={save.isPending} data-testid="capabilities-save">
          Save
        </button>
        <button type="button" className={buttonClass} onClick={() => void onDone()} data-testid="capabilities-cancel">
          Cancel
        </button>
      </form>
      <div className="px-4 pb-4">
        <ErrorLine error={save.error} />
      </div>
    </Panel>
  );
}

const PRICE_SOURCE = { override: "your price", configured: "configured", registry: "registry" } as const;

/**
 * The model registry as the organisation sees it: what each model can take (the
 * registry's values, or the model's own marked *) and what it costs the organisation.
 * Org admins edit the capabilities of the organisation's own models here.
 */
export function ModelsView() {
  const trpc = useTRPC();
  const client = useQueryClient();
  const choice = useOrgChoice();
  const { orgId } = choice;
  const models = useQuery({ ...trpc.models.list.queryOptions({ orgId }), enabled: orgId !== "" });
  const [editingId, setEditingId] = useState<string | null>(null);
  const data = models.data;
  const editing = data?.models.find((m) => m.id === editingId) ?? null;
  const columns = [
    "Model",
    "Provider",
    "Upstream model",
    ...NUMBER_FIELDS.map((f) => f.label),
    ...FLAG_FIELDS.map((f) => f.label),
    "Input $/MTok",
    "Output $/MTok",
    "Price from",
    "",
  ];

  return (
    <div>
      <PageHeader title="Models">
        <OrgPicker choice={choice} testId="models-org" />
      </PageHeader>
      <p className="mb-4 text-sm text-slate-500">
        Every model this organisation&apos;s keys can call. Capabilities come from the registry unless set on
        the model (marked <span className="font-semibold text-amber-700">*</span>); unknown ones (?) are not
        used to filter route targets. Prices are what this organisation pays: its own price, else the
        model&apos;s configured one, else the registry&apos;s. Set your own on the{" "}
        <Link href="/prices" className="underline" data-testid="models-prices-link">
          Prices page
        </Link>
        .
      </p>
      <LoadState error={choice.orgs.error ?? models.error}>
        <DataTable testId="models-table" busy={models.isPending} columns={columns}>
          {(data?.models ?? []).map((m) => (
            <tr key={m.id} data-testid="model-row" data-model={m.name}>
              <td className="px-3 py-2 font-mono text-xs font-medium">
                {m.name} {m.custom && <Badge>custom</Badge>}
              </td>
              <td className="whitespace-nowrap px-3 py-2">{m.provider}</td>
              <td className="px-3 py-2 font-mono text-xs">{m.upstreamModel}</td>
              {NUMBER_FIELDS.map((f) => (
                <CapCell key={f.key} model={m} field={f.key} />
              ))}
              {FLAG_FIELDS.map((f) => (
                <CapCell key={f.key} model={m} field={f.key} />
              ))}
              <td className="px-3 py-2 text-right tabular-nums" data-testid="model-input-price">
                {m.price?.inputPerMTok ?? <Badge tone="amber">unpriced</Badge>}
              </td>
              <td className="px-3 py-2 text-right tabular-nums" data-testid="model-output-price">
                {m.price?.outputPerMTok ?? <Badge tone="amber">unpriced</Badge>}
              </td>
              <td className="whitespace-nowrap px-3 py-2 text-xs text-slate-500" data-testid="model-price-source">
                {m.price ? PRICE_SOURCE[m.price.source] : "—"}
              </td>
              <td className="px-3 py-2 text-xs">
                {m.editable ? (
                  <button type="button" className={buttonClass} onClick={() => setEditingId(m.id)} data-testid="model-edit">
                    Edit
                  </button>
                ) : m.readOnlyReason === "config-file" ? (
                  <span className="text-slate-500" data-testid="model-readonly">
                    set in switchyard.yaml
                  </span>
                ) : m.readOnlyReason === "instance-wide" ? (
                  <span className="text-slate-500" data-testid="model-readonly">
                    shared by all organisations
                  </span>
                ) : null}
              </td>
            </tr>
          ))}
          {data && data.models.length === 0 && (
            <EmptyRow colSpan={columns.length} testId="models-empty">
              No models yet: declare them in switchyard.yaml or add a custom model on the Prices page.
            </EmptyRow>
          )}
        </DataTable>
        {editing && (
          <CapabilitiesForm
            key={editing.id}
            orgId={orgId}
            model={editing}
            onDone={async () => {
              setEditingId(null);
              await client.invalidateQueries({ queryKey: trpc.models.pathKey() });
            }}
          />
        )}
      </LoadState>
    </div>
  );
}
