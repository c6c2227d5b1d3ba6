import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { Role } from "@switchyard/db";
import type { ServerServices } from "../../services";
import { invitationEmail } from "./email";
import { invitationState } from "./token";

/** An invitation as lists show it: never the token nor its hash. */
export const invitationRow = z.object({
  id: z.string(),
  email: z.string(),
  role: z.string(),
  orgId: z.string(),
  teamId: z.string().nullable(),
  teamName: z.string().nullable(),
  createdAt: z.date(),
  expiresAt: z.date(),
  state: z.enum(["pending", "accepted", "revoked", "expired"]),
});

export const invitationRowSelect = {
  id: true,
  email: true,
  role: true,
  orgId: true,
  teamId: true,
  createdAt: true,
  expiresAt: true,
  acceptedAt: true,
  revokedAt: true,
  team: { select: { name: true } },
} as const;

export function toInvitationRow(inv: {
  id: string;
  email: string;
  role: Role;
  orgId: string;
  teamId: string | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
  team: { name: string } | null;
}): z.infer<typeof invitationRow> {
  return {
    id: inv.id,
    email: inv.email,
    role: inv.role,
    orgId: inv.orgId,
    teamId: inv.teamId,
    teamName: inv.team?.name ?? null,
    createdAt: inv.createdAt,
    expiresAt: inv.expiresAt,
    state: invitationState(inv),
  };
}

/** Emails the link. Throws a clear error when mail is not configured or the server refuses. */
export async function sendInvitationEmail(
  services: ServerServices,
  details: {
    to: string;
    token: string;
    orgName: string;
    teamName: string | null;
    role: Role;
    inviterName: string;
    expiresAt: Date;
  },
): Promise<void> {
  if (!services.mailer || !services.publicUrl)
    throw new TRPCError({
      code: "INTERNAL_SERVER_ERROR",
      message: "Email is not configured on this dashboard (SMTP_URL).",
    });
  const link = `${services.publicUrl()}/invite/${details.token}`;
  try {
    await services.mailer.send(invitationEmail({ ...details, link }));
  } catch {
    // The SMTP error itself is not passed on: it is no use to the inviter and may be long.
    throw new TRPCError({
      code: "INTERNAL_SERVER_ERROR",
      message: `The invitation email to ${details.to} could not be sent; check SMTP_URL and try again.`,
    });
  }
}
