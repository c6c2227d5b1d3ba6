"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { formatInt } from "../lib/format";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import {
  buttonClass,
  DangerButton,
  Field,
  inputClass,
  LimitInput,
  OptionSelect,
  optionalInt,
  primaryClass,
} from "./form-bits";
import { ErrorLine, ListHead } from "./membership-ui";
import { Badge, LoadState, PageHeader, Panel } from "./ui";

type Team = inferRouterOutputs<AppRouter>["teams"]["list"][number];

/** "my team" → "my-team": a starting point for the slug while the user has not typed one. */
function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48);
}

function useTeamsRefresh() {
  const trpc = useTRPC();
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: trpc.teams.pathKey() });
}

function NewTeamForm({ orgs }: { orgs: { id: string; name: string }[] }) {
  const trpc = useTRPC();
  const refresh = useTeamsRefresh();
  const [orgId, setOrgId] = useState(orgs[0]?.id ?? "");
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [slugTouched, setSlugTouched] = useState(false);
  const create = useMutation(
    trpc.teams.create.mutationOptions({
      onSuccess: async () => {
        setName("");
        setSlug("");
        setSlugTouched(false);
        await refresh();
      },
    }),
  );
  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({ orgId, name, slug: slug.trim() });
  }
  return (
    <Panel className="mb-6 p-4">
      <h2 className="mb-3 text-sm font-semibold text-slate-700">New team</h2>
      <form
        onSubmit={submit}
        className="flex flex-wrap items-end gap-3"
        data-testid="new-team-form"
      >
        {orgs.length > 1 && (
          <Field label="Organisation">
            <OptionSelect
              value={orgId}
              onChange={setOrgId}
              options={orgs.map((o) => ({ value: o.id, label: o.name }))}
              testId="team-org"
            />
          </Field>
        )}
        <Field label="Name">
          <input
            className={inputClass}
            value={name}
            onChange={(e) => {
              setName(e.target.value);
              if (!slugTouched) setSlug(slugify(e.target.value));
            }}
            placeholder="Platform"
            required
            data-testid="team-name"
          />
        </Field>
        <Field label="Slug">
          <input
            className={`${inputClass} font-mono`}
            value={slug}
            onChange={(e) => {
              setSlug(e.target.value);
              setSlugTouched(true);
            }}
            placeholder="platform"
            required
            data-testid="team-slug"
          />
        </Field>
        <button
          type="submit"
          className={primaryClass}
          disabled={create.isPending}
          data-testid="team-create"
        >
          Create team
        </button>
      </form>
      <ErrorLine error={create.error} />
    </Panel>
  );
}

function LimitsEditor({ team, onDone }: { team: Team; onDone: () => void }) {
  const trpc = useTRPC();
  const refresh = useTeamsRefresh();
  const [rpm, setRpm] = useState(team.rpmLimit?.toString() ?? "");
  const [tpm, setTpm] = useState(team.tpmLimit?.toString() ?? "");
  const update = useMutation(
    trpc.teams.update.mutationOptions({
      onSuccess: async () => {
        await refresh();
        onDone();
      },
    }),
  );
  return (
    <form
      className="mt-2 flex flex-wrap items-center gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        update.mutate({ teamId: team.id, rpmLimit: optionalInt(rpm), tpmLimit: optionalInt(tpm) });
      }}
    >
      <LimitInput
        value={rpm}
        onChange={setRpm}
        placeholder="RPM: none"
        width="w-28"
        testId="team-rpm"
      />
      <LimitInput
        value={tpm}
        onChange={setTpm}
        placeholder="TPM: none"
        width="w-32"
        testId="team-tpm"
      />
      <button
        type="submit"
        className={buttonClass}
        disabled={update.isPending}
        data-testid="team-limits-save"
      >
        Save limits
      </button>
      <ErrorLine error={update.error} />
    </form>
  );
}

function TeamRow({ team }: { team: Team }) {
  const trpc = useTRPC();
  const refresh = useTeamsRefresh();
  const [editing, setEditing] = useState(false);
  const remove = useMutation(trpc.teams.delete.mutationOptions({ onSuccess: refresh }));
  const limit = (n: number | null) => (n === null ? "unlimited" : formatInt(n));
  return (
    <tr data-testid="team-row" data-team-id={team.id} data-slug={team.slug}>
      <td className="px-4 py-3">
        <Link
          href={`/teams/${team.id}`}
          className="font-medium text-slate-900 hover:underline"
          data-testid="team-link"
        >
          {team.name}
        </Link>
        <div className="font-mono text-xs text-slate-500">{team.slug}</div>
      </td>
      <td className="px-4 py-3 text-slate-600">{team.orgName}</td>
      <td className="px-4 py-3 text-slate-600" data-testid="team-members">
        {team.memberCount}
      </td>
      <td className="px-4 py-3 text-slate-600" data-testid="team-keys">
        {team.activeKeyCount}
      </td>
      <td className="px-4 py-3 text-slate-600" data-testid="team-limits">
        {limit(team.rpmLimit)} RPM · {limit(team.tpmLimit)} TPM
        {editing && <LimitsEditor team={team} onDone={() => setEditing(false)} />}
      </td>
      <td className="px-4 py-3">
        <Badge tone={team.access === "manage" ? "green" : "slate"} testId="team-access">
          {team.access === "manage" ? "manage" : team.access === "member" ? "member" : "read-only"}
        </Badge>
      </td>
      <td className="space-x-2 whitespace-nowrap px-4 py-3 text-right">
        {team.access === "manage" && (
          <button
            type="button"
            className={buttonClass}
            onClick={() => setEditing((v) => !v)}
            data-testid="team-limits-edit"
          >
            {editing ? "Cancel" : "Limits"}
          </button>
        )}
        {team.canDelete && (
          <DangerButton
            disabled={remove.isPending}
            onClick={() => {
              if (
                window.confirm(
                  `Delete team "${team.name}"? Its members, budgets and revoked keys go with it.`,
                )
              )
                remove.mutate({ teamId: team.id });
            }}
            testId="team-delete"
          >
            Delete
          </DangerButton>
        )}
        <ErrorLine error={remove.error} />
      </td>
    </tr>
  );
}

export function TeamsView() {
  const trpc = useTRPC();
  const teams = useQuery(trpc.teams.list.queryOptions({}));
  const orgs = useQuery(trpc.orgs.list.queryOptions());
  const adminOrgs = (orgs.data ?? []).filter((o) => o.isAdmin);
  return (
    <div>
      <PageHeader title="Teams">
        <Link
          href="/members"
          className="text-sm text-slate-600 hover:text-slate-900"
          data-testid="org-members-link"
        >
          Organisation members &amp; settings →
        </Link>
      </PageHeader>
      {adminOrgs.length > 0 && <NewTeamForm orgs={adminOrgs} />}
      <LoadState error={teams.error ?? orgs.error}>
        <Panel>
          {teams.data && teams.data.length === 0 ? (
            <p className="px-4 py-6 text-sm text-slate-500" data-testid="no-teams">
              You are not in any team yet.
            </p>
          ) : (
            <div className="overflow-x-auto">
              <table className="min-w-full text-sm">
                <ListHead
                  columns={[
                    "Team",
                    "Organisation",
                    "Members",
                    "Active keys",
                    "Team rate limits",
                    "Your access",
                    "",
                  ]}
                />
                <tbody className="divide-y divide-slate-100">
                  {(teams.data ?? []).map((team) => (
                    <TeamRow key={team.id} team={team} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Panel>
      </LoadState>
    </div>
  );
}
