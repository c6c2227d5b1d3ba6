import { TRPCError } from "@trpc/server";
import { z } from "zod";
import type { Prisma, Role } from "@switchyard/db";

export const memberRow = z.object({
  membershipId: z.string(),
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.string(),
  teamId: z.string().nullable(),
  teamName: z.string().nullable(),
  since: z.date(),
});

export const memberSelect = {
  id: true,
  userId: true,
  role: true,
  teamId: true,
  createdAt: true,
  user: { select: { email: true, name: true } },
  team: { select: { name: true } },
} as const;

export function toMemberRow(m: {
  id: string;
  userId: string;
  role: Role;
  teamId: string | null;
  createdAt: Date;
  user: { email: string; name: string };
  team: { name: string } | null;
}): z.infer<typeof memberRow> {
  return {
    membershipId: m.id,
    userId: m.userId,
    email: m.user.email,
    name: m.user.name,
    role: m.role,
    teamId: m.teamId,
    teamName: m.team?.name ?? null,
    since: m.createdAt,
  };
}

/**
 * Runs a change to an org-wide membership so that the organisation keeps an owner:
 * the org row is locked for the transaction (two owners demoting each other cannot
 * both succeed), and the change is rolled back if no owner is left.
 */
export async function keepingAnOwner<T>(
  db: { $transaction: <R>(fn: (tx: Prisma.TransactionClient) => Promise<R>) => Promise<R> },
  orgId: string,
  change: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  return db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM organizations WHERE id = ${orgId} FOR UPDATE`;
    const result = await change(tx);
    const owners = await tx.membership.count({ where: { orgId, teamId: null, role: "ORG_OWNER" } });
    if (owners === 0)
      throw new TRPCError({
        code: "PRECONDITION_FAILED",
        message: "An organisation needs at least one owner: make someone else owner first.",
      });
    return result;
  });
}
