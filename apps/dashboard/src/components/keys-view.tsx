"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useEffect, useState, type FormEvent } from "react";
import { formatDateTime, formatInt } from "../lib/format";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import {
  buttonClass,
  DangerButton,
  DataTable,
  EmptyRow,
  ErrorLine,
  Field,
  inputClass,
  LimitInput,
  OptionSelect,
  optionalInt,
  primaryClass,
} from "./form-bits";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

type Outputs = inferRouterOutputs<AppRouter>;
type Key = Outputs["keys"]["list"][number];
type Team = Outputs["keys"]["teams"][number];
type Created = Outputs["keys"]["create"];

const GRACE_OPTIONS = [
  { seconds: 0, label: "immediately" },
  { seconds: 3600, label: "in 1 hour" },
  { seconds: 86_400, label: "in 1 day" },
  { seconds: 7 * 86_400, label: "in 7 days" },
] as const;

const KEY_COLUMNS = [
  "Name",
  "Key",
  "Team",
  "Models",
  "Limits",
  "State",
  "Created",
  "Expires",
  "Last used",
  "Actions",
] as const;

function keyState(
  key: { revokedAt: Date | null; expiresAt: Date | null; previousKeyExpiresAt: Date | null },
  now: Date,
) {
  if (key.revokedAt) return <Badge tone="red">revoked</Badge>;
  if (key.expiresAt && key.expiresAt <= now) return <Badge tone="amber">expired</Badge>;
  if (key.previousKeyExpiresAt && key.previousKeyExpiresAt > now)
    return (
      <Badge tone="amber">
        rotated · old secret valid until {formatDateTime(key.previousKeyExpiresAt)}
      </Badge>
    );
  return <Badge tone="green">active</Badge>;
}

/** "env=prod, app=crm" ⇄ {env: "prod", app: "crm"}; a part without "=" is kept as a name with an empty value. */
function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq === -1) tags[part.trim()] = "";
    else tags[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return tags;
}
function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** A Date to the value of <input type="datetime-local"> in the browser's zone, and back. */
function toLocalInput(date: Date | null): string {
  if (!date) return "";
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}
function fromLocalInput(value: string): Date | null {
  return value === "" ? null : new Date(value);
}

function useRefreshKeys() {
  const trpc = useTRPC();
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: trpc.keys.list.queryKey() });
}

/** Checkboxes over the models and routes of the key's organisation; none ticked = every model. */
function ModelPicker({
  teamId,
  value,
  onChange,
}: {
  teamId: string;
  value: string[];
  onChange: (models: string[]) => void;
}) {
  const trpc = useTRPC();
  const options = useQuery(trpc.keys.createOptions.queryOptions({ teamId }));
  const names = [...(options.data?.routes ?? []), ...(options.data?.models ?? [])];
  const toggle = (name: string) =>
    onChange(value.includes(name) ? value.filter((n) => n !== name) : [...value, name]);
  return (
    <fieldset
      className="flex flex-col gap-1 text-xs font-medium text-slate-600"
      data-testid="key-models"
    >
      <legend className="mb-1">Allowed models (none ticked: all)</legend>
      <div className="flex max-w-xl flex-wrap gap-x-4 gap-y-1">
        {names.map((name) => (
          <label key={name} className="flex items-center gap-1 font-normal text-slate-700">
            <input
              type="checkbox"
              checked={value.includes(name)}
              onChange={() => toggle(name)}
              data-testid="key-model-option"
              value={name}
            />
            <span className="font-mono text-xs">{name}</span>
          </label>
        ))}
        {options.data && names.length === 0 && (
          <span className="font-normal text-slate-500">No models configured.</span>
        )}
      </div>
    </fieldset>
  );
}

function CreatedKeyDialog({ created, onClose }: { created: Created; onClose: () => void }) {
  const [copied, setCopied] = useState<"no" | "yes" | "failed">("no");
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  }
  return (
    <div className="fixed inset-0 z-10 flex items-center justify-center bg-slate-900/40 p-4">
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="key-created-title"
        data-testid="key-created-dialog"
        className="w-full max-w-2xl rounded-xl bg-white p-6 shadow-xl"
      >
        <h2 id="key-created-title" className="text-lg font-semibold">
          Key &ldquo;{created.name}&rdquo; created
        </h2>
        <p
          className="mt-2 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900"
          data-testid="key-created-warning"
        >
          Copy this key now. It is shown only once: Switchyard stores only its hash and cannot show
          it again.
        </p>
        <div className="mt-4 flex items-center gap-2">
          <code
            className="flex-1 select-all break-all rounded-md border border-slate-200 bg-slate-50 px-3 py-2 font-mono text-sm"
            data-testid="key-created-value"
          >
            {created.key}
          </code>
          <button
            type="button"
            className={primaryClass}
            onClick={() => void copy()}
            data-testid="key-copy"
          >
            Copy
          </button>
        </div>
        {copied === "yes" && (
          <p className="mt-2 text-sm text-emerald-700" data-testid="key-copied">
            Copied to the clipboard.
          </p>
        )}
        {copied === "failed" && (
          <p className="mt-2 text-sm text-red-700" data-testid="key-copy-failed">
            The browser refused the clipboard; select the key and copy it by hand.
          </p>
        )}
        <div className="mt-6 flex justify-end">
          <button
            type="button"
            className={primaryClass}
            onClick={onClose}
            data-testid="key-created-done"
          >
            I have stored it
          </button>
        </div>
      </div>
    </div>
  );
}

function NewKeyForm({
  teams,
  onCreated,
}: {
  teams: Team[];
  onCreated: (created: Created) => void;
}) {
  const trpc = useTRPC();
  const refresh = useRefreshKeys();
  const [teamId, setTeamId] = useState(teams[0]?.id ?? "");
  const [name, setName] = useState("");
  const [models, setModels] = useState<string[]>([]);
  const [rpm, setRpm] = useState("");
  const [tpm, setTpm] = useState("");
  const [expires, setExpires] = useState("");
  const [tags, setTags] = useState("");
  const [userId, setUserId] = useState<string>("");
  const options = useQuery({
    ...trpc.keys.createOptions.queryOptions({ teamId }),
    enabled: teamId !== "",
  });
  useEffect(() => {
    setModels([]);
    setUserId("");
  }, [teamId]);
  const create = useMutation(
    trpc.keys.create.mutationOptions({
      // Keep the clear key out of the mutation cache once the dialog has it.
      gcTime: 0,
      onSuccess: async (created) => {
        setName("");
        setModels([]);
        setRpm("");
        setTpm("");
        setExpires("");
        setTags("");
        onCreated(created);
        await refresh();
      },
    }),
  );
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({
      teamId,
      name: name.trim(),
      allowedModels: models,
      rpmLimit: optionalInt(rpm),
      tpmLimit: optionalInt(tpm),
      tags: parseTags(tags),
      expiresAt: fromLocalInput(expires),
      userId: options.data?.canBindOthers ? userId || null : undefined,
    });
  }
  return (
    <Panel className="mb-6 p-4">
      <form onSubmit={submit} data-testid="key-form" className="flex flex-col gap-3">
        <div className="flex flex-wrap items-end gap-3">
          <Field label="Team">
            <OptionSelect
              value={teamId}
              onChange={setTeamId}
              options={teams.map((t) => ({ value: t.id, label: `${t.name} (${t.orgName})` }))}
              testId="key-team"
            />
          </Field>
          <Field label="Name">
            <input
              className={inputClass}
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="search-prod"
              required
              data-testid="key-name"
            />
          </Field>
          {options.data?.canBindOthers && (
            <Field label="Bound to">
              <OptionSelect
                value={userId}
                onChange={setUserId}
                options={[
                  { value: "", label: "nobody (a service key)" },
                  ...options.data.users.map((u) => ({ value: u.id, label: u.email })),
                ]}
                testId="key-user"
              />
            </Field>
          )}
          <Field label="Requests / min">
            <LimitInput
              value={rpm}
              onChange={setRpm}
              placeholder="unlimited"
              width="w-28"
              testId="key-rpm"
            />
          </Field>
          <Field label="Tokens / min">
            <LimitInput
              value={tpm}
              onChange={setTpm}
              placeholder="unlimited"
              width="w-28"
              testId="key-tpm"
            />
          </Field>
          <Field label="Expires (your time)">
            <input
              type="datetime-local"
              className={inputClass}
              value={expires}
              onChange={(e) => setExpires(e.target.value)}
              data-testid="key-expires"
            />
          </Field>
          <Field label="Tags (k=v, comma-separated)" className="min-w-64 flex-1">
            <input
              className={inputClass}
              value={tags}
              onChange={(e) => setTags(e.target.value)}
              placeholder="env=prod, app=search"
              data-testid="key-tags"
            />
          </Field>
        </div>
        {teamId !== "" && <ModelPicker teamId={teamId} value={models} onChange={setModels} />}
        <div>
          <button
            type="submit"
            className={primaryClass}
            disabled={create.isPending || teamId === ""}
            data-testid="key-create"
          >
            Create key
          </button>
        </div>
      </form>
      <ErrorLine error={create.error} />
    </Panel>
  );
}

function EditKeyForm({ k, onDone }: { k: Key; onDone: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshKeys();
  const [name, setName] = useState(k.name);
  const [models, setModels] = useState<string[]>(k.allowedModels);
  const [rpm, setRpm] = useState(k.rpmLimit === null ? "" : String(k.rpmLimit));
  const [tpm, setTpm] = useState(k.tpmLimit === null ? "" : String(k.tpmLimit));
  const [expires, setExpires] = useState(toLocalInput(k.expiresAt));
  const [tags, setTags] = useState(formatTags(k.tags));
  const update = useMutation(
    trpc.keys.update.mutationOptions({
      onSuccess: async () => {
        await refresh();
        onDone();
      },
    }),
  );
  function submit(e: FormEvent) {
    e.preventDefault();
    update.mutate({
      keyId: k.id,
      name: name.trim(),
      allowedModels: models,
      rpmLimit: optionalInt(rpm),
      tpmLimit: optionalInt(tpm),
      tags: parseTags(tags),
      expiresAt: fromLocalInput(expires),
    });
  }
  return (
    <form
      onSubmit={submit}
      className="mt-2 flex flex-col gap-2 rounded-md bg-slate-50 p-3"
      data-testid="key-edit-form"
    >
      <div className="flex flex-wrap items-end gap-2">
        <Field label="Name">
          <input
            className={inputClass}
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            data-testid="key-edit-name"
          />
        </Field>
        <Field label="Requests / min">
          <input
            className={`${inputClass} w-24`}
            value={rpm}
            onChange={(e) => setRpm(e.target.value)}
            data-testid="key-edit-rpm"
          />
        </Field>
        <Field label="Tokens / min">
          <input
            className={`${inputClass} w-24`}
            value={tpm}
            onChange={(e) => setTpm(e.target.value)}
            data-testid="key-edit-tpm"
          />
        </Field>
        <Field label="Expires (your time)">
          <input
            type="datetime-local"
            className={inputClass}
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
          />
        </Field>
        <Field label="Tags">
          <input
            className={inputClass}
            value={tags}
            onChange={(e) => setTags(e.target.value)}
            data-testid="key-edit-tags"
          />
        </Field>
      </div>
      <ModelPicker teamId={k.teamId} value={models} onChange={setModels} />
      <div className="flex gap-2">
        <button
          type="submit"
          className={buttonClass}
          disabled={update.isPending}
          data-testid="key-edit-save"
        >
          Save
        </button>
        <button type="button" className={buttonClass} onClick={onDone}>
          Cancel
        </button>
      </div>
      <ErrorLine error={update.error} />
    </form>
  );
}

function KeyActions({
  k,
  now,
  onRotated,
}: {
  k: Key;
  now: Date;
  onRotated: (created: Created) => void;
}) {
  const trpc = useTRPC();
  const refresh = useRefreshKeys();
  const [mode, setMode] = useState<"none" | "edit" | "rotate">("none");
  const [grace, setGrace] = useState<number>(3600);
  const revoke = useMutation(trpc.keys.revoke.mutationOptions({ onSuccess: refresh }));
  const rotate = useMutation(
    trpc.keys.rotate.mutationOptions({
      gcTime: 0,
      onSuccess: async (created) => {
        setMode("none");
        onRotated(created);
        await refresh();
      },
    }),
  );
  const usable = k.revokedAt === null && !(k.expiresAt !== null && k.expiresAt <= now);
  if (!k.canManage || k.revokedAt !== null) return null;
  return (
    <div>
      <div className="flex flex-wrap gap-2">
        {usable && (
          <>
            <button
              type="button"
              className={buttonClass}
              onClick={() => setMode(mode === "edit" ? "none" : "edit")}
              data-testid="key-edit"
            >
              Edit
            </button>
            <button
              type="button"
              className={buttonClass}
              onClick={() => setMode(mode === "rotate" ? "none" : "rotate")}
              data-testid="key-rotate"
            >
              Rotate
            </button>
          </>
        )}
        <DangerButton
          disabled={revoke.isPending}
          onClick={() => {
            if (
              window.confirm(
                `Revoke key "${k.name}" (${k.prefix}…)? Requests with it will be refused within a second.`,
              )
            )
              revoke.mutate({ keyId: k.id });
          }}
          testId="key-revoke"
        >
          Revoke
        </DangerButton>
      </div>
      {mode === "rotate" && (
        <form
          className="mt-2 flex flex-wrap items-center gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            rotate.mutate({ keyId: k.id, graceSeconds: grace });
          }}
        >
          <label className="text-xs text-slate-600">
            Old key stops{" "}
            <OptionSelect
              value={String(grace)}
              onChange={(v) => setGrace(Number(v))}
              options={GRACE_OPTIONS.map((o) => ({ value: String(o.seconds), label: o.label }))}
              testId="key-rotate-grace"
            />
          </label>
          <button
            type="submit"
            className={buttonClass}
            disabled={rotate.isPending}
            data-testid="key-rotate-confirm"
          >
            Issue new key
          </button>
        </form>
      )}
      {mode === "edit" && <EditKeyForm k={k} onDone={() => setMode("none")} />}
      <ErrorLine error={revoke.error ?? rotate.error} />
    </div>
  );
}

export function KeysView() {
  const trpc = useTRPC();
  const keys = useQuery(trpc.keys.list.queryOptions({}));
  const teams = useQuery(trpc.keys.teams.queryOptions({}));
  const [showForm, setShowForm] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const now = new Date();
  const creatable = (teams.data ?? []).filter((t) => t.access !== "read");

  return (
    <div>
      <PageHeader title="Virtual keys">
        {creatable.length > 0 && (
          <button
            type="button"
            className={primaryClass}
            onClick={() => setShowForm((s) => !s)}
            data-testid="key-new"
          >
            New key
          </button>
        )}
      </PageHeader>
      {showForm && creatable.length > 0 && (
        <NewKeyForm
          teams={creatable}
          onCreated={(c) => {
            setShowForm(false);
            setCreated(c);
          }}
        />
      )}
      {/* The clear key lives only in this state and is dropped when the dialog closes. */}
      {created && <CreatedKeyDialog created={created} onClose={() => setCreated(null)} />}
      <LoadState error={keys.error}>
        <DataTable testId="keys-table" busy={keys.isPending} columns={KEY_COLUMNS}>
          {keys.data?.map((key) => (
            <tr
              key={key.id}
              data-testid="key-row"
              data-key-id={key.id}
              data-key-name={key.name}
              className="align-top"
            >
              <td className="whitespace-nowrap px-3 py-2 font-medium">
                {key.name}
                {key.userEmail && (
                  <div className="text-xs font-normal text-slate-500">{key.userEmail}</div>
                )}
                {Object.keys(key.tags).length > 0 && (
                  <div className="font-mono text-xs font-normal text-slate-500">
                    {formatTags(key.tags)}
                  </div>
                )}
              </td>
              <td
                className="whitespace-nowrap px-3 py-2 font-mono text-xs text-slate-600"
                data-testid="key-prefix"
              >
                {key.prefix}…
              </td>
              <td className="whitespace-nowrap px-3 py-2">{key.teamName}</td>
              <td className="px-3 py-2 text-slate-600">
                {key.allowedModels.length === 0 ? "all models" : key.allowedModels.join(", ")}
              </td>
              <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                {[
                  key.rpmLimit !== null && `${formatInt(key.rpmLimit)} rpm`,
                  key.tpmLimit !== null && `${formatInt(key.tpmLimit)} tpm`,
                ]
                  .filter(Boolean)
                  .join(" · ") || "none"}
              </td>
              <td className="px-3 py-2" data-testid="key-state">
                {keyState(key, now)}
              </td>
              <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                {formatDateTime(key.createdAt)}
              </td>
              <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                {key.expiresAt ? formatDateTime(key.expiresAt) : "never"}
              </td>
              <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                {key.lastUsedAt ? formatDateTime(key.lastUsedAt) : "never"}
              </td>
              <td className="px-3 py-2">
                <KeyActions k={key} now={now} onRotated={setCreated} />
              </td>
            </tr>
          ))}
          {keys.data?.length === 0 && (
            <EmptyRow colSpan={KEY_COLUMNS.length} testId="keys-empty">
              No keys yet. Create one with &ldquo;New key&rdquo; or{" "}
              <code className="font-mono">switchyard keys create --team &lt;slug&gt;</code>.
            </EmptyRow>
          )}
        </DataTable>
      </LoadState>
    </div>
  );
}
