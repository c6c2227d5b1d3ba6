"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "../trpc/react";
import { ErrorLine, OptionSelect } from "./form-bits";
import { Panel, PanelTitle } from "./ui";

type Mode = "off" | "redacted" | "full";

const MODES = [
  { value: "off", label: "Off: keep no prompts or responses" },
  {
    value: "redacted",
    label: "Redacted: keep them with emails, card and phone numbers and secrets masked",
  },
  { value: "full", label: "Full: keep them as sent" },
] as const;

/** A team's prompt/response body logging; only its managers (team and org admins) may change it. */
export function BodyLoggingSetting({
  teamId,
  mode,
  canManage,
}: {
  teamId: string;
  mode: Mode;
  canManage: boolean;
}) {
  const trpc = useTRPC();
  const client = useQueryClient();
  const update = useMutation(
    trpc.teams.update.mutationOptions({
      onSuccess: () => client.invalidateQueries({ queryKey: trpc.teams.pathKey() }),
    }),
  );
  return (
    <Panel className="mb-6">
      <PanelTitle>Body logging</PanelTitle>
      <div className="space-y-2 p-4 text-sm">
        <p className="text-slate-600">
          Whether the proxy stores each request&apos;s prompt and response, shown in the request
          explorer. Proxies pick a change up within seconds.
        </p>
        <div className="flex items-center gap-3" data-testid="body-logging" data-value={mode}>
          <OptionSelect<Mode>
            value={mode}
            options={MODES}
            disabled={!canManage || update.isPending}
            onChange={(bodyLogging) => update.mutate({ teamId, bodyLogging })}
            testId="body-logging-select"
          />
          {!canManage && (
            <span className="text-xs text-slate-500">
              Only team admins and org admins can change this.
            </span>
          )}
        </div>
        <ErrorLine error={update.error} />
      </div>
    </Panel>
  );
}
