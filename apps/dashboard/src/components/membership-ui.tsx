"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState, type FormEvent } from "react";
import type { AppRouter } from "../server/root";
import { useTRPC } from "../trpc/react";
import {
  buttonClass,
  DangerButton,
  Field,
  inputClass,
  OptionSelect,
  primaryClass,
} from "./form-bits";
import { Badge } from "./ui";

type Outputs = inferRouterOutputs<AppRouter>;
export type MemberRow = Outputs["members"]["listTeam"][number];
export type InvitationRow = Outputs["invitations"]["listTeam"][number];

export const ROLE_NAMES: Record<string, string> = {
  ORG_OWNER: "Owner",
  ORG_ADMIN: "Admin",
  TEAM_ADMIN: "Team admin",
  MEMBER: "Member",
  VIEWER: "Viewer",
};

export const TEAM_ROLES = ["TEAM_ADMIN", "MEMBER", "VIEWER"] as const;
export const ORG_ROLES = ["ORG_OWNER", "ORG_ADMIN", "VIEWER"] as const;
type Role = (typeof TEAM_ROLES)[number] | (typeof ORG_ROLES)[number];

const roleOptions = (roles: readonly Role[]) =>
  roles.map((r) => ({ value: r, label: ROLE_NAMES[r] ?? r }));

/** Header row of the member, invitation and team lists; "" is an unlabelled column, false none. */
export function ListHead({ columns }: { columns: (string | false)[] }) {
  return (
    <thead className="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
      <tr>
        {columns.map((c, i) =>
          c === false ? null : (
            <th key={i} className="px-4 py-2">
              {c || null}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

export function ErrorLine({ error }: { error: { message: string } | null }) {
  if (!error) return null;
  return (
    <p role="alert" data-testid="form-error" className="mt-2 text-sm text-red-700">
      {error.message}
    </p>
  );
}

/** Re-reads every member and invitation list after a change. */
export function useMembershipRefresh() {
  const trpc = useTRPC();
  const client = useQueryClient();
  return async () => {
    await Promise.all([
      client.invalidateQueries({ queryKey: trpc.members.pathKey() }),
      client.invalidateQueries({ queryKey: trpc.invitations.pathKey() }),
      client.invalidateQueries({ queryKey: trpc.teams.pathKey() }),
    ]);
  };
}

/** Members with their roles; managers change roles and remove people (the server decides what sticks). */
export function MembersTable({
  members,
  canManage,
  showTeam,
  roles,
}: {
  members: MemberRow[];
  canManage: boolean;
  showTeam: boolean;
  roles: (teamId: string | null) => readonly Role[];
}) {
  const trpc = useTRPC();
  const refresh = useMembershipRefresh();
  const setRole = useMutation(trpc.members.setRole.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.members.remove.mutationOptions({ onSuccess: refresh }));
  if (members.length === 0)
    return <p className="px-4 py-6 text-sm text-slate-500">No members yet.</p>;
  return (
    <div className="overflow-x-auto">
      <table className="min-w-full text-sm" data-testid="members-table">
        <ListHead columns={["Name", "Email", showTeam && "Team", "Role", canManage && ""]} />
        <tbody className="divide-y divide-slate-100">
          {members.map((m) => (
            <tr key={m.membershipId} data-testid="member-row" data-email={m.email}>
              <td className="px-4 py-2 font-medium">{m.name}</td>
              <td className="px-4 py-2 text-slate-600">{m.email}</td>
              {showTeam && (
                <td className="px-4 py-2 text-slate-600">{m.teamName ?? "whole organisation"}</td>
              )}
              <td className="px-4 py-2">
                {canManage && roles(m.teamId).includes(m.role as Role) ? (
                  <OptionSelect
                    value={m.role as Role}
                    disabled={setRole.isPending}
                    onChange={(role) => setRole.mutate({ membershipId: m.membershipId, role })}
                    options={roleOptions(roles(m.teamId))}
                    testId="member-role"
                  />
                ) : (
                  <Badge testId="member-role-badge">{ROLE_NAMES[m.role] ?? m.role}</Badge>
                )}
              </td>
              {canManage && (
                <td className="px-4 py-2 text-right">
                  <DangerButton
                    disabled={remove.isPending}
                    onClick={() => {
                      if (
                        window.confirm(
                          `Remove ${m.email}${m.teamName ? ` from ${m.teamName}` : ""}?`,
                        )
                      )
                        remove.mutate({ membershipId: m.membershipId });
                    }}
                    testId="member-remove"
                  >
                    Remove
                  </DangerButton>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="px-4 pb-3">
        <ErrorLine error={setRole.error ?? remove.error} />
      </div>
    </div>
  );
}

/** Invite by email to a team (teamId) or the whole organisation (teamId null). */
export function InviteForm({
  orgId,
  teamId,
  roles,
}: {
  orgId: string;
  teamId: string | null;
  roles: readonly Role[];
}) {
  const trpc = useTRPC();
  const refresh = useMembershipRefresh();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>(roles.includes("MEMBER") ? "MEMBER" : "VIEWER");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const create = useMutation(
    trpc.invitations.create.mutationOptions({
      onSuccess: async (row) => {
        setSentTo(row.email);
        setEmail("");
        await refresh();
      },
    }),
  );
  function submit(e: FormEvent) {
    e.preventDefault();
    setSentTo(null);
    create.mutate({ orgId, teamId, email, role });
  }
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-3" data-testid="invite-form">
      <Field label="Email" className="min-w-64 flex-1">
        <input
          type="email"
          className={inputClass}
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          placeholder="person@example.com"
          required
          data-testid="invite-email"
        />
      </Field>
      <Field label="Role">
        <OptionSelect
          value={role}
          onChange={setRole}
          options={roleOptions(roles)}
          testId="invite-role"
        />
      </Field>
      <button
        type="submit"
        className={primaryClass}
        disabled={create.isPending}
        data-testid="invite-submit"
      >
        {create.isPending ? "Sending…" : "Send invitation"}
      </button>
      {sentTo && (
        <p className="w-full text-sm text-emerald-700" data-testid="invite-sent">
          Invitation sent to {sentTo}.
        </p>
      )}
      <div className="w-full">
        <ErrorLine error={create.error} />
      </div>
    </form>
  );
}

/** Open invitations with revoke and resend. */
export function InvitationsTable({
  invitations,
  showTeam,
}: {
  invitations: InvitationRow[];
  showTeam: boolean;
}) {
  const trpc = useTRPC();
  const refresh = useMembershipRefresh();
  const revoke = useMutation(trpc.invitations.revoke.mutationOptions({ onSuccess: refresh }));
  const resend = useMutation(trpc.invitations.resend.mutationOptions({ onSuccess: refresh }));
  if (invitations.length === 0)
    return (
      <p className="px-4 py-4 text-sm text-slate-500" data-testid="no-invitations">
        No pending invitations.
      </p>
    );
  return (
    <div className="overflow-x-auto">
      <table className="min-w-full text-sm">
        <ListHead columns={["Email", showTeam && "Team", "Role", "Expires", ""]} />
        <tbody className="divide-y divide-slate-100">
          {invitations.map((inv) => (
            <tr key={inv.id} data-testid="invitation-row" data-email={inv.email}>
              <td className="px-4 py-2">{inv.email}</td>
              {showTeam && (
                <td className="px-4 py-2 text-slate-600">{inv.teamName ?? "whole organisation"}</td>
              )}
              <td className="px-4 py-2">{ROLE_NAMES[inv.role] ?? inv.role}</td>
              <td className="px-4 py-2 text-slate-600">
                {inv.state === "expired" ? (
                  <Badge tone="amber">expired</Badge>
                ) : (
                  inv.expiresAt.toISOString().slice(0, 10)
                )}
              </td>
              <td className="space-x-2 px-4 py-2 text-right">
                <button
                  type="button"
                  className={buttonClass}
                  disabled={resend.isPending}
                  onClick={() => resend.mutate({ invitationId: inv.id })}
                  data-testid="invitation-resend"
                >
                  Resend
                </button>
                <DangerButton
                  disabled={revoke.isPending}
                  onClick={() => revoke.mutate({ invitationId: inv.id })}
                  testId="invitation-revoke"
                >
                  Revoke
                </DangerButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="px-4 pb-3">
        <ErrorLine error={revoke.error ?? resend.error} />
      </div>
    </div>
  );
}
