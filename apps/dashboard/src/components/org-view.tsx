"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useEffect, useState, type FormEvent } from "react";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import { Field, inputClass, primaryClass } from "./form-bits";
import {
  ErrorLine,
  InvitationsTable,
  InviteForm,
  MembersTable,
  ORG_ROLES,
  TEAM_ROLES,
} from "./membership-ui";
import { LoadState, PageHeader, Panel, PanelTitle } from "./ui";

type Org = inferRouterOutputs<AppRouter>["orgs"]["list"][number];

function OrgSettings({ org }: { org: Org }) {
  const trpc = useTRPC();
  const client = useQueryClient();
  const [name, setName] = useState(org.name);
  const [timeZone, setTimeZone] = useState(org.timeZone);
  const [retention, setRetention] = useState(org.requestLogRetentionDays?.toString() ?? "");
  const [saved, setSaved] = useState(false);
  // Filled after mount: the server's and the browser's zone lists differ, which would break hydration.
  const [zones, setZones] = useState<string[]>([]);
  useEffect(() => setZones(Intl.supportedValuesOf("timeZone")), []);
  const update = useMutation(
    trpc.orgs.update.mutationOptions({
      onSuccess: async (next) => {
        setTimeZone(next.timeZone);
        setSaved(true);
        await client.invalidateQueries({ queryKey: trpc.orgs.pathKey() });
      },
    }),
  );
  function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    const days = retention.trim() === "" ? null : Number(retention);
    update.mutate({ orgId: org.id, name, timeZone, requestLogRetentionDays: days });
  }
  return (
    <Panel className="mb-6 p-4">
      <h2 className="mb-3 text-sm font-semibold text-slate-700">Settings</h2>
      <form
        onSubmit={submit}
        className="flex flex-wrap items-end gap-3"
        data-testid="org-settings-form"
      >
        <Field label="Name">
          <input
            className={inputClass}
            value={name}
            onChange={(e) => setName(e.target.value)}
            disabled={!org.isAdmin}
            required
            data-testid="org-name"
          />
        </Field>
        <Field label="Time zone (budget periods follow it)">
          <input
            className={`${inputClass} w-56`}
            value={timeZone}
            onChange={(e) => setTimeZone(e.target.value)}
            disabled={!org.isAdmin}
            placeholder="Europe/Paris"
            list="time-zones"
            required
            data-testid="org-timezone"
          />
        </Field>
        <Field label="Keep request log (days; empty = all)">
          <input
            className={`${inputClass} w-28`}
            inputMode="numeric"
            value={retention}
            onChange={(e) => setRetention(e.target.value)}
            disabled={!org.isAdmin}
            placeholder="all"
            data-testid="org-retention"
          />
        </Field>
        <datalist id="time-zones">
          {zones.map((tz) => (
            <option key={tz} value={tz} />
          ))}
        </datalist>
        {org.isAdmin && (
          <button
            type="submit"
            className={primaryClass}
            disabled={update.isPending}
            data-testid="org-save"
          >
            Save
          </button>
        )}
        {saved && (
          <span className="text-sm text-emerald-700" data-testid="org-saved">
            Saved.
          </span>
        )}
      </form>
      {!org.isAdmin && (
        <p className="mt-2 text-xs text-slate-500">
          Only organisation owners and admins change these.
        </p>
      )}
      <ErrorLine error={update.error} />
    </Panel>
  );
}

function OrgPeople({ org }: { org: Org }) {
  const trpc = useTRPC();
  const members = useQuery(trpc.members.listOrg.queryOptions({ orgId: org.id }));
  const invitations = useQuery(trpc.invitations.listOrg.queryOptions({ orgId: org.id }));
  // Owners grant every org role; admins all but owner.
  const orgRoles = org.isOwner ? ORG_ROLES : ORG_ROLES.filter((r) => r !== "ORG_OWNER");
  return (
    <LoadState error={members.error ?? invitations.error}>
      <Panel className="mb-6">
        <PanelTitle>Members</PanelTitle>
        {members.data && (
          <MembersTable
            members={members.data}
            canManage
            showTeam
            roles={(teamId) => (teamId === null ? orgRoles : TEAM_ROLES)}
          />
        )}
      </Panel>
      <Panel>
        <PanelTitle>Invite to the whole organisation</PanelTitle>
        <div className="p-4">
          <InviteForm orgId={org.id} teamId={null} roles={orgRoles} />
          <p className="mt-2 text-xs text-slate-500">
            To invite someone into one team, use that team&apos;s page.
          </p>
        </div>
        <h3 className="border-t border-slate-100 px-4 pt-3 text-xs font-semibold uppercase tracking-wide text-slate-500">
          Pending invitations
        </h3>
        {invitations.data && <InvitationsTable invitations={invitations.data} showTeam />}
      </Panel>
    </LoadState>
  );
}

/** Organisation settings for every member; members and invitations for owners and admins. */
export function OrgView() {
  const trpc = useTRPC();
  const orgs = useQuery(trpc.orgs.list.queryOptions());
  const [selected, setSelected] = useState<string | null>(null);
  const org = orgs.data?.find((o) => o.id === selected) ?? orgs.data?.[0];
  return (
    <div>
      <PageHeader title="Organisation">
        {orgs.data && orgs.data.length > 1 && (
          <select
            className={inputClass}
            value={org?.id}
            onChange={(e) => setSelected(e.target.value)}
            data-testid="org-select"
          >
            {orgs.data.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>
        )}
      </PageHeader>
      <LoadState error={orgs.error}>
        {orgs.data && !org && (
          <p className="text-sm text-slate-500">You belong to no organisation.</p>
        )}
        {org && (
          <div key={org.id}>
            <OrgSettings org={org} />
            {org.isAdmin && <OrgPeople org={org} />}
          </div>
        )}
      </LoadState>
    </div>
  );
}
