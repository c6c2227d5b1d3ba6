"use client";

import type { RouteStrategy } from "@switchyard/contracts";
import type { FormEvent, ReactNode } from "react";
import { emptyTarget, type RouteDraft, type TargetDraft } from "../lib/route-form";
import { buttonClass, ErrorLine, Field, LimitInput, OptionSelect, primaryClass, TextField } from "./form-bits";
import { Panel, PanelTitle } from "./ui";

const STRATEGIES: readonly { value: RouteStrategy; label: string }[] = [
  { value: "fallback", label: "fallback (in order)" },
  { value: "weighted", label: "weighted (split traffic)" },
  { value: "cheapest", label: "cheapest" },
  { value: "fastest", label: "fastest" },
  { value: "conditional", label: "conditional (by tags, headers, …)" },
];

function CheckField({
  label,
  checked,
  onChange,
  testId,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  testId: string;
}) {
  return (
    <label className="flex items-center gap-2 text-xs font-medium text-slate-600">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} data-testid={testId} />
      {label}
    </label>
  );
}

function Group({ title, children }: { title: string; children: ReactNode }) {
  return (
    <fieldset className="flex flex-wrap items-end gap-3 border-t border-slate-100 px-4 py-3">
      <legend className="px-1 text-xs font-semibold uppercase tracking-wide text-slate-500">{title}</legend>
      {children}
    </fieldset>
  );
}

/**
 * The create / edit form of a route: strategy, target rows (model, weight for weighted
 * routes, conditions for conditional ones), and the options (sticky, max tokens, cache,
 * retry). It edits a RouteDraft; the caller turns it into settings and saves.
 */
export function RouteForm({
  draft,
  setDraft,
  models,
  editing,
  pending,
  error,
  onSubmit,
  onCancel,
}: {
  draft: RouteDraft;
  setDraft: (d: RouteDraft) => void;
  models: readonly string[];
  editing: boolean;
  pending: boolean;
  error: { message: string } | null;
  onSubmit: () => void;
  onCancel: () => void;
}) {
  const modelOptions = [
    ...(models.length === 0 ? [{ value: "", label: "no models" }] : []),
    ...models.map((m) => ({ value: m, label: m })),
  ];
  const setTarget = (i: number, t: Partial<TargetDraft>) =>
    setDraft({ ...draft, targets: draft.targets.map((old, j) => (j === i ? { ...old, ...t } : old)) });
  const conditional = draft.strategy === "conditional";
  const weighted = draft.strategy === "weighted";

  function submit(e: FormEvent) {
    e.preventDefault();
    onSubmit();
  }

  return (
    <Panel className="mt-4">
      <PanelTitle>{editing ? `Edit route ${draft.alias}` : "Add a route"}</PanelTitle>
      <form onSubmit={submit} data-testid="route-form">
        <div className="flex flex-wrap items-end gap-3 p-4">
          <TextField
            label="Alias clients send as model"
            className="w-52 font-mono"
            value={draft.alias}
            onChange={(v) => setDraft({ ...draft, alias: v })}
            testId="route-alias"
          />
          <Field label="Strategy">
            <OptionSelect
              value={draft.strategy}
              onChange={(v) => setDraft({ ...draft, strategy: v })}
              options={STRATEGIES}
              testId="route-strategy"
            />
          </Field>
          {weighted && (
            <CheckField
              label="Sticky per end user"
              checked={draft.sticky}
              onChange={(v) => setDraft({ ...draft, sticky: v })}
              testId="route-sticky"
            />
          )}
          <CheckField
            label="Strict (refuse parameters a target cannot honour)"
            checked={draft.strict}
            onChange={(v) => setDraft({ ...draft, strict: v })}
            testId="route-strict"
          />
        </div>

        <Group title="Targets">
          {conditional && (
            <p className="w-full text-xs text-slate-500">
              Conditions: <code>k=v</code> pairs separated by commas, alternatives by <code>|</code>{" "}
              (<code>tier=gold|platinum, region=eu</code>). Every field given must match. Targets without a
              condition take the requests no condition matches.
            </p>
          )}
          {draft.targets.map((t, i) => (
            <div key={i} className="flex w-full flex-wrap items-end gap-3" data-testid="route-target-row">
              <Field label={`Target ${i + 1}`}>
                <OptionSelect
                  value={t.model}
                  onChange={(v) => setTarget(i, { model: v })}
                  options={modelOptions}
                  testId={`route-target-model-${i}`}
                />
              </Field>
              {weighted && (
                <Field label="Weight">
                  <LimitInput
                    value={t.weight}
                    onChange={(v) => setTarget(i, { weight: v })}
                    placeholder="1"
                    width="w-20"
                    testId={`route-target-weight-${i}`}
                  />
                </Field>
              )}
              {conditional &&
                (["tags", "headers", "metadata"] as const).map((field) => (
                  <TextField
                    key={field}
                    label={`When ${field}`}
                    className="w-44 font-mono"
                    value={t[field]}
                    onChange={(v) => setTarget(i, { [field]: v })}
                    placeholder="k=v, k2=a|b"
                    testId={`route-target-${field}-${i}`}
                  />
                ))}
              {conditional && (
                <TextField
                  label="When user"
                  className="w-32 font-mono"
                  value={t.user}
                  onChange={(v) => setTarget(i, { user: v })}
                  placeholder="u-1|u-2"
                  testId={`route-target-user-${i}`}
                />
              )}
              {draft.targets.length > 1 && (
                <button
                  type="button"
                  className={buttonClass}
                  onClick={() => setDraft({ ...draft, targets: draft.targets.filter((_, j) => j !== i) })}
                  data-testid={`route-target-remove-${i}`}
                >
                  Remove
                </button>
              )}
            </div>
          ))}
          <button
            type="button"
            className={buttonClass}
            onClick={() => setDraft({ ...draft, targets: [...draft.targets, emptyTarget(models[0] ?? "")] })}
            data-testid="route-target-add"
          >
            Add target
          </button>
        </Group>

        <Group title="Max tokens">
          <Field label="Default (when a request sets none)">
            <LimitInput
              value={draft.maxTokensDefault}
              onChange={(v) => setDraft({ ...draft, maxTokensDefault: v })}
              placeholder="none"
              width="w-28"
              testId="route-max-default"
            />
          </Field>
          <Field label="Cap (larger requests are lowered)">
            <LimitInput
              value={draft.maxTokensCap}
              onChange={(v) => setDraft({ ...draft, maxTokensCap: v })}
              placeholder="none"
              width="w-28"
              testId="route-max-cap"
            />
          </Field>
        </Group>

        <Group title="Cache">
          <CheckField
            label="Cache answers"
            checked={draft.cache}
            onChange={(v) => setDraft({ ...draft, cache: v })}
            testId="route-cache"
          />
          {draft.cache && (
            <>
              <Field label="TTL (seconds)">
                <LimitInput
                  value={draft.cacheTtlSeconds}
                  onChange={(v) => setDraft({ ...draft, cacheTtlSeconds: v })}
                  placeholder="3600"
                  width="w-24"
                  testId="route-cache-ttl"
                />
              </Field>
              <Field label="Shared by">
                <OptionSelect
                  value={draft.cacheScope}
                  onChange={(v) => setDraft({ ...draft, cacheScope: v })}
                  options={[
                    { value: "org", label: "the whole organisation" },
                    { value: "team", label: "each team apart" },
                  ]}
                  testId="route-cache-scope"
                />
              </Field>
              <CheckField
                label="Semantic (similar prompts)"
                checked={draft.semantic}
                onChange={(v) => setDraft({ ...draft, semantic: v, embeddingModel: draft.embeddingModel || (models[0] ?? "") })}
                testId="route-semantic"
              />
              {draft.semantic && (
                <>
                  <Field label="Embedding model">
                    <OptionSelect
                      value={draft.embeddingModel}
                      onChange={(v) => setDraft({ ...draft, embeddingModel: v })}
                      options={modelOptions}
                      testId="route-semantic-model"
                    />
                  </Field>
                  <TextField
                    label="Similarity threshold"
                    className="w-24"
                    inputMode="decimal"
                    value={draft.threshold}
                    onChange={(v) => setDraft({ ...draft, threshold: v })}
                    testId="route-semantic-threshold"
                  />
                  <TextField
                    label="Max temperature"
                    className="w-24"
                    inputMode="decimal"
                    value={draft.maxTemperature}
                    onChange={(v) => setDraft({ ...draft, maxTemperature: v })}
                    testId="route-semantic-max-temperature"
                  />
                </>
              )}
            </>
          )}
        </Group>

        <Group title="Retries">
          <Field label="Max attempts (all targets)">
            <LimitInput
              value={draft.retryMaxAttempts}
              onChange={(v) => setDraft({ ...draft, retryMaxAttempts: v })}
              placeholder="proxy default"
              width="w-28"
              testId="route-retry-attempts"
            />
          </Field>
          <Field label="Deadline (ms)">
            <LimitInput
              value={draft.retryDeadlineMs}
              onChange={(v) => setDraft({ ...draft, retryDeadlineMs: v })}
              placeholder="proxy default"
              width="w-28"
              testId="route-retry-deadline"
            />
          </Field>
          <CheckField
            label="Retry empty answers cut by length on a larger target"
            checked={draft.retryOnEmptyLength}
            onChange={(v) => setDraft({ ...draft, retryOnEmptyLength: v })}
            testId="route-retry-empty-length"
          />
        </Group>

        <div className="flex items-center gap-3 border-t border-slate-100 px-4 py-3">
          <button type="submit" className={primaryClass} disabled={pending} data-testid="route-save">
            {editing ? "Save route" : "Add route"}
          </button>
          {editing && (
            <button type="button" className={buttonClass} onClick={onCancel} data-testid="route-cancel">
              Cancel
            </button>
          )}
        </div>
        <div className="px-4 pb-4">
          <ErrorLine error={error} />
        </div>
      </form>
    </Panel>
  );
}
