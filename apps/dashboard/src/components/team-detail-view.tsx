"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "../trpc/react";
import { BodyLoggingSetting } from "./body-logging-setting";
import { InvitationsTable, InviteForm, MembersTable, TEAM_ROLES } from "./membership-ui";
import { LoadState, PageHeader, Panel, PanelTitle } from "./ui";

/** One team: its members and roles, and for its managers the invite form and open invitations. */
export function TeamDetailView({ teamId }: { teamId: string }) {
  const trpc = useTRPC();
  const teams = useQuery(trpc.teams.list.queryOptions({ teamId }));
  const team = teams.data?.[0];
  const canManage = team?.access === "manage";
  const members = useQuery(trpc.members.listTeam.queryOptions({ teamId }));
  const invitations = useQuery({
    ...trpc.invitations.listTeam.queryOptions({ teamId }),
    enabled: canManage,
  });
  return (
    <div>
      <PageHeader title={team ? team.name : "Team"}>
        <Link href="/teams" className="text-sm text-slate-600 hover:text-slate-900">
          ← All teams
        </Link>
      </PageHeader>
      <LoadState error={teams.error ?? members.error ?? invitations.error}>
        {team && (
          <p className="-mt-4 mb-6 text-sm text-slate-500" data-testid="team-summary">
            {team.orgName} · <span className="font-mono">{team.slug}</span> · {team.memberCount}{" "}
            members · {team.activeKeyCount} active keys
          </p>
        )}
        {team && (
          <BodyLoggingSetting teamId={team.id} mode={team.bodyLogging} canManage={canManage} />
        )}
        <Panel className="mb-6">
          <PanelTitle>Members</PanelTitle>
          {members.data && (
            <MembersTable
              members={members.data}
              canManage={canManage}
              showTeam={false}
              roles={() => TEAM_ROLES}
            />
          )}
        </Panel>
        {canManage && team && (
          <Panel>
            <PanelTitle>Invite people</PanelTitle>
            <div className="p-4">
              <InviteForm orgId={team.orgId} teamId={team.id} roles={TEAM_ROLES} />
            </div>
            <h3 className="border-t border-slate-100 px-4 pt-3 text-xs font-semibold uppercase tracking-wide text-slate-500">
              Pending invitations
            </h3>
            {invitations.data && (
              <InvitationsTable invitations={invitations.data} showTeam={false} />
            )}
          </Panel>
        )}
      </LoadState>
    </div>
  );
}
