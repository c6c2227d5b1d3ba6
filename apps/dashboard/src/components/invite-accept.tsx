"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { createAuthClient } from "better-auth/react";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { useTRPC } from "../trpc/react";
import { inputClass, primaryClass } from "./form-bits";
import { ErrorLine, ROLE_NAMES } from "./membership-ui";

const STATE_MESSAGES = {
  accepted: "This invitation has already been used. Sign in instead.",
  revoked: "This invitation was withdrawn. Ask whoever invited you for a new one.",
  expired: "This invitation has expired. Ask whoever invited you for a new one.",
} as const;

function authClient() {
  // Same-origin client: works on whatever host the dashboard is reached on.
  return createAuthClient({ baseURL: window.location.origin });
}

/** A full-width, required password input under its label. */
function PasswordField({
  label,
  value,
  onChange,
  minLength,
  autoComplete,
  testId,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  minLength?: number;
  autoComplete: "new-password" | "current-password";
  testId: string;
}) {
  return (
    <label className="block text-sm font-medium text-slate-700">
      {label}
      <input
        type="password"
        className={`${inputClass} mt-1 block w-full`}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        required
        minLength={minLength}
        autoComplete={autoComplete}
        data-testid={testId}
      />
    </label>
  );
}

/** The public page behind an invitation link: create an account, or sign in, and accept. */
export function InviteAccept({ token }: { token: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const lookup = useQuery({ ...trpc.invitations.lookup.queryOptions({ token }), retry: false });
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const land = (teamId: string | null) => {
    router.replace(teamId ? `/teams/${teamId}` : "/teams");
    router.refresh();
  };
  const acceptNew = useMutation(trpc.invitations.acceptNew.mutationOptions());
  const accept = useMutation(trpc.invitations.accept.mutationOptions());

  async function createAccount(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    if (password !== confirm) {
      setProblem("The two passwords differ.");
      return;
    }
    setBusy(true);
    try {
      const done = await acceptNew.mutateAsync({ token, name, password });
      const { error } = await authClient().signIn.email({ email: done.email, password });
      if (error) {
        setProblem(
          `Your account is ready, but signing in failed (${error.message ?? "unknown error"}): sign in from the sign-in page.`,
        );
        return;
      }
      land(done.teamId);
    } catch {
      // acceptNew.error is shown below.
    } finally {
      setBusy(false);
    }
  }

  async function signInAndAccept(e: FormEvent, email: string) {
    e.preventDefault();
    setProblem(null);
    setBusy(true);
    try {
      if (password) {
        const { error } = await authClient().signIn.email({ email, password });
        if (error) {
          setProblem(
            error.status === 401 ? "Wrong password." : (error.message ?? "Sign-in failed."),
          );
          return;
        }
      }
      const done = await accept.mutateAsync({ token });
      land(done.teamId);
    } catch {
      // accept.error is shown below.
    } finally {
      setBusy(false);
    }
  }

  if (lookup.error)
    return (
      <p
        role="alert"
        data-testid="invite-error"
        className="mt-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-700"
      >
        {lookup.error.message}
      </p>
    );
  const info = lookup.data;
  if (!info) return <p className="mt-4 text-sm text-slate-500">Loading…</p>;
  if (info.state !== "pending")
    return (
      <p
        role="alert"
        data-testid="invite-error"
        data-state={info.state}
        className="mt-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800"
      >
        {STATE_MESSAGES[info.state]}
      </p>
    );

  const signedInAsInvitee = info.signedInAs?.toLowerCase() === info.email.toLowerCase();
  return (
    <div className="mt-4 space-y-4">
      <dl
        className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm"
        data-testid="invite-details"
      >
        <dt className="text-slate-500">Organisation</dt>
        <dd data-testid="invite-org">{info.orgName}</dd>
        {info.teamName && (
          <>
            <dt className="text-slate-500">Team</dt>
            <dd data-testid="invite-team">{info.teamName}</dd>
          </>
        )}
        <dt className="text-slate-500">Role</dt>
        <dd data-testid="invite-role-name">{ROLE_NAMES[info.role] ?? info.role}</dd>
        <dt className="text-slate-500">For</dt>
        <dd data-testid="invite-email-shown">{info.email}</dd>
      </dl>

      {!info.hasAccount && (
        <form onSubmit={createAccount} className="space-y-3" data-testid="invite-new-account">
          <label className="block text-sm font-medium text-slate-700">
            Your name
            <input
              className={`${inputClass} mt-1 block w-full`}
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              autoComplete="name"
              data-testid="invite-name"
            />
          </label>
          <PasswordField
            label="Password (at least 12 characters)"
            value={password}
            onChange={setPassword}
            minLength={12}
            autoComplete="new-password"
            testId="invite-password"
          />
          <PasswordField
            label="Password again"
            value={confirm}
            onChange={setConfirm}
            minLength={12}
            autoComplete="new-password"
            testId="invite-password-confirm"
          />
          <button
            type="submit"
            className={`${primaryClass} w-full`}
            disabled={busy}
            data-testid="invite-accept"
          >
            {busy ? "Creating your account…" : "Create account and join"}
          </button>
        </form>
      )}

      {info.hasAccount && (
        <form
          onSubmit={(e) => void signInAndAccept(e, info.email)}
          className="space-y-3"
          data-testid="invite-existing-account"
        >
          {signedInAsInvitee ? (
            <p className="text-sm text-slate-600">You are signed in as {info.email}.</p>
          ) : (
            <>
              <p className="text-sm text-slate-600">
                {info.signedInAs ? `You are signed in as ${info.signedInAs}. ` : ""}Sign in as{" "}
                {info.email} to accept.
              </p>
              <PasswordField
                label="Password"
                value={password}
                onChange={setPassword}
                autoComplete="current-password"
                testId="invite-signin-password"
              />
            </>
          )}
          <button
            type="submit"
            className={`${primaryClass} w-full`}
            disabled={busy}
            data-testid="invite-accept"
          >
            {busy ? "Joining…" : signedInAsInvitee ? "Accept invitation" : "Sign in and accept"}
          </button>
        </form>
      )}
      {problem && (
        <p role="alert" data-testid="form-error" className="text-sm text-red-700">
          {problem}
        </p>
      )}
      <ErrorLine error={acceptNew.error ?? accept.error} />
    </div>
  );
}
