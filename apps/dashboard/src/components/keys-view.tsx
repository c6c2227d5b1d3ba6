"use client";

import { useQuery } from "@tanstack/react-query";
import { formatDateTime, formatInt } from "../lib/format";
import { useTRPC } from "../trpc/react";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

function keyState(key: { revokedAt: Date | null; expiresAt: Date | null }, now: Date) {
  if (key.revokedAt) return <Badge tone="red">revoked</Badge>;
  if (key.expiresAt && key.expiresAt <= now) return <Badge tone="amber">expired</Badge>;
  return <Badge tone="green">active</Badge>;
}

export function KeysView() {
  const trpc = useTRPC();
  const keys = useQuery(trpc.keys.list.queryOptions({}));
  const now = new Date();

  return (
    <div>
      <PageHeader title="Virtual keys" />
      <LoadState error={keys.error}>
        <Panel className="overflow-x-auto">
          <table className="min-w-full text-sm" data-testid="keys-table" aria-busy={keys.isPending}>
            <thead className="border-b border-slate-200 bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
              <tr>
                <th className="px-3 py-2 font-medium">Name</th>
                <th className="px-3 py-2 font-medium">Key</th>
                <th className="px-3 py-2 font-medium">Team</th>
                <th className="px-3 py-2 font-medium">Models</th>
                <th className="px-3 py-2 font-medium">Limits</th>
                <th className="px-3 py-2 font-medium">State</th>
                <th className="px-3 py-2 font-medium">Created</th>
                <th className="px-3 py-2 font-medium">Expires</th>
                <th className="px-3 py-2 font-medium">Last used</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {keys.data?.map((key) => (
                <tr key={key.id} data-testid="key-row" data-key-id={key.id}>
                  <td className="whitespace-nowrap px-3 py-2 font-medium">{key.name}</td>
                  <td className="whitespace-nowrap px-3 py-2 font-mono text-xs text-slate-600">
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
                  <td className="px-3 py-2">{keyState(key, now)}</td>
                  <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                    {formatDateTime(key.createdAt)}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                    {key.expiresAt ? formatDateTime(key.expiresAt) : "never"}
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-slate-600">
                    {key.lastUsedAt ? formatDateTime(key.lastUsedAt) : "never"}
                  </td>
                </tr>
              ))}
              {keys.data?.length === 0 && (
                <tr>
                  <td
                    colSpan={9}
                    className="px-3 py-10 text-center text-slate-500"
                    data-testid="keys-empty"
                  >
                    No keys yet. Create one with{" "}
                    <code className="font-mono">switchyard keys create --team &lt;slug&gt;</code>.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </Panel>
      </LoadState>
    </div>
  );
}
