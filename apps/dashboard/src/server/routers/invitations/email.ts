import type { Role } from "@switchyard/db";
import { escapeHtml, type MailMessage } from "../../mailer";

export const ROLE_LABELS: Record<Role, string> = {
  ORG_OWNER: "organisation owner",
  ORG_ADMIN: "organisation admin",
  TEAM_ADMIN: "team admin",
  MEMBER: "member",
  VIEWER: "viewer",
};

export interface InvitationEmailInput {
  to: string;
  link: string;
  orgName: string;
  teamName: string | null;
  role: Role;
  inviterName: string;
  expiresAt: Date;
}

/** The invitation email, plain text and HTML, saying who invited whom to what, and until when. */
export function invitationEmail(input: InvitationEmailInput): MailMessage {
  const where = input.teamName
    ? `the team "${input.teamName}" of ${input.orgName}`
    : `the organisation ${input.orgName}`;
  const role = ROLE_LABELS[input.role];
  const until = `${input.expiresAt.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const text = [
    `${input.inviterName} invited you to join ${where} on Switchyard as ${role}.`,
    "",
    `Accept the invitation and set your password here:`,
    input.link,
    "",
    `The link works once and expires on ${until}.`,
    "If you did not expect this invitation, you can ignore this email.",
  ].join("\n");
  const html = `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; color: #0f172a; line-height: 1.5">
<p>${escapeHtml(input.inviterName)} invited you to join ${escapeHtml(where)} on Switchyard as <strong>${escapeHtml(role)}</strong>.</p>
<p><a href="${escapeHtml(input.link)}" style="display: inline-block; background: #0f172a; color: #fff; padding: 8px 14px; border-radius: 6px; text-decoration: none">Accept the invitation</a></p>
<p style="color: #475569; font-size: 13px">Or open this link: ${escapeHtml(input.link)}<br>
It works once and expires on ${escapeHtml(until)}. If you did not expect this invitation, you can ignore this email.</p>
</body></html>`;
  return {
    to: input.to,
    subject: `You are invited to ${input.teamName ?? input.orgName} on Switchyard`,
    text,
    html,
  };
}
