"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState, type FormEvent } from "react";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import {
  DangerButton,
  DataTable,
  EmptyRow,
  ErrorLine,
  Field,
  OptionSelect,
  primaryClass,
  TextField,
} from "./form-bits";
import { Panel, PanelTitle } from "./ui";

type Prices = inferRouterOutputs<AppRouter>["prices"]["list"];

const EMPTY = { name: "", providerId: "", upstreamModel: "", input: "", output: "" };

/**
 * The organisation's custom models: names its keys (and only its keys) can send as
 * `model`, served by a provider as an upstream model, with their own price or the
 * registry's. Org admins add and remove them.
 */
export function CustomModelsSection({
  orgId,
  data,
  busy,
}: {
  orgId: string;
  data: Prices | undefined;
  busy: boolean;
}) {
  const trpc = useTRPC();
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: trpc.prices.pathKey() });
  const [draft, setDraft] = useState(EMPTY);
  const create = useMutation(
    trpc.prices.createModel.mutationOptions({
      onSuccess: async () => {
        setDraft(EMPTY);
        await refresh();
      },
    }),
  );
  const remove = useMutation(trpc.prices.deleteModel.mutationOptions({ onSuccess: refresh }));
  const canEdit = data?.canEdit ?? false;
  const providers = data?.providers ?? [];
  const providerId = draft.providerId || providers[0]?.id || "";

  function submit(e: FormEvent) {
    e.preventDefault();
    const priced = draft.input.trim() !== "" || draft.output.trim() !== "";
    create.mutate({
      orgId,
      name: draft.name,
      providerId,
      upstreamModel: draft.upstreamModel,
      pricing: priced
        ? { inputPerMTok: draft.input.trim(), outputPerMTok: draft.output.trim() }
        : null,
    });
  }

  return (
    <section className="mb-8" data-testid="custom-models">
      <h2 className="mb-2 text-sm font-semibold text-slate-700">Custom models</h2>
      <p className="mb-3 text-sm text-slate-500">
        Models only this organisation&apos;s keys can call. Without a price of their own they use
        the registry&apos;s, else they are recorded as unpriced (never $0).
      </p>
      <DataTable
        testId="custom-models-table"
        busy={busy}
        columns={[
          "Model",
          "Provider",
          "Upstream model",
          "Input $/MTok",
          "Output $/MTok",
          ...(canEdit ? [""] : []),
        ]}
      >
        {(data?.customModels ?? []).map((m) => (
          <tr key={m.id} data-testid="custom-model-row" data-model={m.name}>
            <td className="px-3 py-2 font-mono text-xs">{m.name}</td>
            <td className="px-3 py-2">{m.provider}</td>
            <td className="px-3 py-2 font-mono text-xs">{m.upstreamModel}</td>
            <td className="px-3 py-2 text-right tabular-nums">
              {m.rates?.inputPerMTok ?? "unpriced"}
            </td>
            <td className="px-3 py-2 text-right tabular-nums">
              {m.rates?.outputPerMTok ?? "unpriced"}
            </td>
            {canEdit && (
              <td className="px-3 py-2">
                <DangerButton
                  onClick={() => {
                    if (window.confirm(`Remove the model ${m.name}? Keys sending it get a 404.`))
                      remove.mutate({ orgId, modelId: m.id });
                  }}
                  disabled={remove.isPending}
                  testId="custom-model-delete"
                >
                  Delete
                </DangerButton>
              </td>
            )}
          </tr>
        ))}
        {data && data.customModels.length === 0 && (
          <EmptyRow colSpan={canEdit ? 6 : 5} testId="custom-models-empty">
            No custom models.
          </EmptyRow>
        )}
      </DataTable>
      {canEdit && providers.length > 0 && (
        <Panel className="mt-4">
          <PanelTitle>Add a model</PanelTitle>
          <form
            onSubmit={submit}
            className="flex flex-wrap items-end gap-3 p-4"
            data-testid="custom-model-form"
          >
            <TextField
              label="Name clients send"
              className="w-44 font-mono"
              value={draft.name}
              onChange={(v) => setDraft({ ...draft, name: v })}
              testId="custom-model-name"
            />
            <Field label="Provider">
              <OptionSelect
                value={providerId}
                onChange={(v) => setDraft({ ...draft, providerId: v })}
                options={providers.map((p) => ({ value: p.id, label: p.slug }))}
                testId="custom-model-provider"
              />
            </Field>
            <TextField
              label="Upstream model"
              className="w-44 font-mono"
              value={draft.upstreamModel}
              onChange={(v) => setDraft({ ...draft, upstreamModel: v })}
              testId="custom-model-upstream"
            />
            <TextField
              label="Input $/MTok (optional)"
              className="w-28"
              inputMode="decimal"
              value={draft.input}
              onChange={(v) => setDraft({ ...draft, input: v })}
              testId="custom-model-input"
            />
            <TextField
              label="Output $/MTok (optional)"
              className="w-28"
              inputMode="decimal"
              value={draft.output}
              onChange={(v) => setDraft({ ...draft, output: v })}
              testId="custom-model-output"
            />
            <button
              type="submit"
              className={primaryClass}
              disabled={create.isPending}
              data-testid="custom-model-save"
            >
              Add model
            </button>
          </form>
          <div className="px-4 pb-4">
            <ErrorLine error={create.error ?? remove.error} />
          </div>
        </Panel>
      )}
    </section>
  );
}
