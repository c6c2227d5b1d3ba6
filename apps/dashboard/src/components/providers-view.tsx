"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState, type FormEvent } from "react";
import { providerTypes } from "@switchyard/contracts";
import { formatDateTime } from "../lib/format";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

type Outputs = inferRouterOutputs<AppRouter>;
type Provider = Outputs["providers"]["list"]["providers"][number];
type Key = Provider["keys"][number];
type CheckResult = Outputs["providers"]["testConnection"];

const input =
  "rounded-md border border-slate-300 px-2 py-1.5 text-sm focus:border-slate-500 focus:outline-none";
const button =
  "rounded-md border border-slate-300 px-2.5 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50";
const primary =
  "rounded-md bg-slate-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700 disabled:opacity-50";

/** Re-reads the list after a write; the clear key typed into a form is dropped with the form. */
function useRefresh() {
  const trpc = useTRPC();
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: trpc.providers.list.queryKey() });
}

function ErrorLine({ error }: { error: { message: string } | null }) {
  if (!error) return null;
  return (
    <p role="alert" data-testid="form-error" className="mt-2 text-sm text-red-700">
      {error.message}
    </p>
  );
}

function AddProviderForm() {
  const trpc = useTRPC();
  const refresh = useRefresh();
  const [slug, setSlug] = useState("");
  const [type, setType] = useState<(typeof providerTypes)[number]>("openai");
  const [baseUrl, setBaseUrl] = useState("");
  const [apiVersion, setApiVersion] = useState("");
  const create = useMutation(
    trpc.providers.create.mutationOptions({
      onSuccess: async () => {
        setSlug("");
        setBaseUrl("");
        setApiVersion("");
        await refresh();
      },
    }),
  );
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({
      slug: slug.trim(),
      type,
      baseUrl: baseUrl.trim() || undefined,
      apiVersion: apiVersion.trim() || undefined,
    });
  }
  return (
    <Panel className="mb-6 p-4">
      <form onSubmit={submit} data-testid="add-provider-form" className="flex flex-wrap items-end gap-3">
        <label className="flex flex-col gap-1 text-xs font-medium text-slate-600">
          Name
          <input
            className={input}
            value={slug}
            onChange={(e) => setSlug(e.target.value)}
            placeholder="openai-team"
            required
            data-testid="new-provider-slug"
          />
        </label>
        <label className="flex flex-col gap-1 text-xs font-medium text-slate-600">
          Type
          <select
            className={input}
            value={type}
            onChange={(e) => setType(e.target.value as typeof type)}
            data-testid="new-provider-type"
          >
            {providerTypes.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label className="flex min-w-72 flex-1 flex-col gap-1 text-xs font-medium text-slate-600">
          Base URL (empty: the provider&apos;s default)
          <input
            className={input}
            value={baseUrl}
            onChange={(e) => setBaseUrl(e.target.value)}
            placeholder="https://api.openai.com/v1"
            data-testid="new-provider-base-url"
          />
        </label>
        <label className="flex flex-col gap-1 text-xs font-medium text-slate-600">
          API version
          <input
            className={`${input} w-36`}
            value={apiVersion}
            onChange={(e) => setApiVersion(e.target.value)}
            placeholder="Azure only"
          />
        </label>
        <button type="submit" className={primary} disabled={create.isPending} data-testid="new-provider-submit">
          Add provider
        </button>
      </form>
      <ErrorLine error={create.error} />
    </Panel>
  );
}

function CheckLine({ result }: { result: CheckResult | null }) {
  if (!result) return null;
  return (
    <span
      data-testid="test-result"
      data-ok={String(result.ok)}
      className={`text-xs ${result.ok ? "text-emerald-700" : "text-red-700"}`}
    >
      {result.ok ? `OK · ${result.message}` : result.message}
    </span>
  );
}

function KeyRow({ provider, k, canManage }: { provider: Provider; k: Key; canManage: boolean }) {
  const trpc = useTRPC();
  const refresh = useRefresh();
  const [check, setCheck] = useState<CheckResult | null>(null);
  const [rotating, setRotating] = useState(false);
  const [secret, setSecret] = useState("");
  const test = useMutation(trpc.providers.testConnection.mutationOptions({ onSuccess: setCheck }));
  const rotate = useMutation(
    trpc.providers.rotateKey.mutationOptions({
      onSuccess: async () => {
        setSecret("");
        setRotating(false);
        setCheck(null);
        await refresh();
      },
    }),
  );
  const toggle = useMutation(trpc.providers.setKeyEnabled.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.providers.deleteKey.mutationOptions({ onSuccess: refresh }));
  const manageable = canManage && provider.editable && k.source === "DASHBOARD";

  return (
    <tr data-testid="key-row" data-label={k.label}>
      <td className="whitespace-nowrap px-3 py-2 font-medium">{k.label}</td>
      <td className="whitespace-nowrap px-3 py-2 font-mono text-xs text-slate-600" data-testid="key-secret-hint">
        {k.storage === "env" ? `env:${k.envName ?? "?"}` : k.last4 ? `••••${k.last4}` : "encrypted"}
      </td>
      <td className="px-3 py-2" data-testid="key-status">
        {k.enabled ? <Badge tone="green">enabled</Badge> : <Badge tone="amber">disabled</Badge>}
      </td>
      <td className="whitespace-nowrap px-3 py-2 text-slate-600">
        {k.source === "CONFIG_FILE" ? "switchyard.yaml" : "dashboard"}
      </td>
      <td className="whitespace-nowrap px-3 py-2 text-slate-600">{formatDateTime(k.createdAt)}</td>
      <td className="whitespace-nowrap px-3 py-2 text-slate-600" data-testid="key-rotated">
        {k.rotatedAt ? formatDateTime(k.rotatedAt) : "never"}
      </td>
      <td className="px-3 py-2">
        <div className="flex flex-wrap items-center gap-2">
          {canManage && (
            <button
              type="button"
              className={button}
              disabled={test.isPending}
              onClick={() => test.mutate({ providerId: provider.id, keyId: k.id })}
              data-testid="key-test"
            >
              {test.isPending ? "Testing…" : "Test connection"}
            </button>
          )}
          {manageable && (
            <>
              <button type="button" className={button} onClick={() => setRotating((r) => !r)} data-testid="key-rotate">
                Rotate
              </button>
              <button
                type="button"
                className={button}
                disabled={toggle.isPending}
                onClick={() => toggle.mutate({ keyId: k.id, enabled: !k.enabled })}
                data-testid="key-toggle"
              >
                {k.enabled ? "Disable" : "Enable"}
              </button>
              <button
                type="button"
                className={`${button} text-red-700`}
                disabled={remove.isPending}
                onClick={() => {
                  if (window.confirm(`Delete key "${k.label}" of ${provider.slug}?`)) remove.mutate({ keyId: k.id });
                }}
                data-testid="key-delete"
              >
                Delete
              </button>
            </>
          )}
          <CheckLine result={check} />
        </div>
        {rotating && (
          <form
            className="mt-2 flex items-center gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              rotate.mutate({ keyId: k.id, apiKey: secret });
            }}
          >
            <input
              type="password"
              autoComplete="off"
              className={`${input} w-72`}
              value={secret}
              onChange={(e) => setSecret(e.target.value)}
              placeholder="New key"
              required
              data-testid="rotate-secret"
            />
            <button type="submit" className={button} disabled={rotate.isPending} data-testid="rotate-submit">
              Save new key
            </button>
          </form>
        )}
        <ErrorLine error={rotate.error ?? toggle.error ?? remove.error ?? test.error} />
      </td>
    </tr>
  );
}

function AddKeyForm({ provider }: { provider: Provider }) {
  const trpc = useTRPC();
  const refresh = useRefresh();
  const [label, setLabel] = useState(provider.keys.length === 0 ? "default" : "");
  const [secret, setSecret] = useState("");
  const add = useMutation(
    trpc.providers.addKey.mutationOptions({
      onSuccess: async () => {
        setLabel("");
        setSecret("");
        await refresh();
      },
    }),
  );
  return (
    <div className="border-t border-slate-100 px-3 py-3">
      <form
        className="flex flex-wrap items-center gap-2"
        data-testid="add-key-form"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate({ providerId: provider.id, label: label.trim(), apiKey: secret });
        }}
      >
        <input
          className={`${input} w-40`}
          value={label}
          onChange={(e) => setLabel(e.target.value)}
          placeholder="label (account)"
          required
          data-testid="add-key-label"
        />
        <input
          type="password"
          autoComplete="off"
          className={`${input} w-80`}
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          placeholder="API key (never shown again)"
          required
          data-testid="add-key-secret"
        />
        <button type="submit" className={button} disabled={add.isPending} data-testid="add-key-submit">
          Add key
        </button>
      </form>
      <ErrorLine error={add.error} />
    </div>
  );
}

function ProviderCard({ provider, canManage }: { provider: Provider; canManage: boolean }) {
  const trpc = useTRPC();
  const [check, setCheck] = useState<CheckResult | null>(null);
  const test = useMutation(trpc.providers.testConnection.mutationOptions({ onSuccess: setCheck }));
  const fromFile = provider.source === "CONFIG_FILE";
  return (
    <Panel className="mb-4 overflow-x-auto">
      <div data-testid="provider-card" data-slug={provider.slug}>
        <div className="flex flex-wrap items-center gap-3 px-3 py-3">
          <h2 className="font-semibold">{provider.slug}</h2>
          <Badge>{provider.type}</Badge>
          <Badge tone={fromFile ? "slate" : "green"} testId="provider-source">
            {fromFile ? "switchyard.yaml" : "dashboard"}
          </Badge>
          <span className="font-mono text-xs text-slate-600">{provider.baseUrl ?? "default base URL"}</span>
          {provider.apiVersion && <span className="text-xs text-slate-500">api-version {provider.apiVersion}</span>}
          {canManage && provider.keys.length === 0 && (
            <button
              type="button"
              className={button}
              onClick={() => test.mutate({ providerId: provider.id })}
              data-testid="provider-test"
            >
              Test connection (no key)
            </button>
          )}
          <CheckLine result={check} />
        </div>
        {fromFile && (
          <p className="px-3 pb-2 text-xs text-slate-500" data-testid="readonly-note">
            Declared in switchyard.yaml: change it in the file and run{" "}
            <code className="font-mono">switchyard config apply</code>. It cannot be edited here.
          </p>
        )}
        <table className="min-w-full text-sm">
          <thead className="border-y border-slate-200 bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="px-3 py-2 font-medium">Label</th>
              <th className="px-3 py-2 font-medium">Key</th>
              <th className="px-3 py-2 font-medium">Status</th>
              <th className="px-3 py-2 font-medium">Source</th>
              <th className="px-3 py-2 font-medium">Created</th>
              <th className="px-3 py-2 font-medium">Rotated</th>
              <th className="px-3 py-2 font-medium" />
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {provider.keys.map((k) => (
              <KeyRow key={k.id} provider={provider} k={k} canManage={canManage} />
            ))}
            {provider.keys.length === 0 && (
              <tr>
                <td colSpan={7} className="px-3 py-4 text-center text-slate-500">
                  No key: requests go out without a credential (fine for local servers).
                </td>
              </tr>
            )}
          </tbody>
        </table>
        {canManage && provider.editable && <AddKeyForm provider={provider} />}
      </div>
    </Panel>
  );
}

export function ProvidersView() {
  const trpc = useTRPC();
  const list = useQuery(trpc.providers.list.queryOptions());
  const canManage = list.data?.canManage ?? false;
  return (
    <div>
      <PageHeader title="Providers" />
      <p className="mb-4 max-w-3xl text-sm text-slate-600">
        Provider connections and their keys. A provider may hold several keys (accounts); proxies use the enabled
        ones in turn. Keys are stored encrypted and never shown again, only their last 4 characters.
        {!canManage && list.data && (
          <span data-testid="providers-readonly"> Only organisation owners and admins can change them.</span>
        )}
      </p>
      <LoadState error={list.error}>
        {canManage && <AddProviderForm />}
        <div data-testid="providers-list" aria-busy={list.isPending}>
          {list.data?.providers.map((p) => (
            <ProviderCard key={p.id} provider={p} canManage={canManage} />
          ))}
          {list.data?.providers.length === 0 && (
            <p className="text-sm text-slate-500" data-testid="providers-empty">
              No providers yet.
            </p>
          )}
        </div>
      </LoadState>
    </div>
  );
}
