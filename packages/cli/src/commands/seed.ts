import { Role } from "@switchyard/db";
import { loadConfigFile } from "@switchyard/config";
import type { CommandContext, CommandResult } from "../context";
import { publishConfigChanged } from "../notify";
import { applyConfig, type ApplySummary } from "./config-apply";
import { createVirtualKey } from "./keys";
import { setCredentialPassword } from "./users";

export const DEMO = {
  orgSlug: "demo",
  orgName: "Demo Org",
  teamSlug: "default",
  teamName: "Default",
  email: "demo@switchyard.local",
  password: "switchyard-demo",
  keyName: "demo",
  /** The demo key's rate limit, so responses show the x-ratelimit-* headers. */
  keyRpm: 600,
  /** A monthly team budget, so the Budgets page and alert emails have something to show. */
  teamBudgetNanoUsd: 25_000_000_000n,
} as const;

/**
 * `switchyard seed [--config <file>]`: demo org, team, owner and a fresh demo key.
 * Idempotent: re-running keeps the same org/team/user (password reset to the demo
 * one) and replaces the demo key, revoking the previous ones, so the key it prints
 * always works.
 */
export async function seedCommand(
  ctx: CommandContext,
  configFile?: string,
): Promise<CommandResult> {
  // Parse the file first so a typo fails before anything is written.
  const cfg = configFile !== undefined ? loadConfigFile(configFile) : undefined;
  const db = ctx.prisma;
  const result = await db.$transaction(
    async (tx) => {
      const org = await tx.organization.upsert({
        where: { slug: DEMO.orgSlug },
        update: {},
        create: { slug: DEMO.orgSlug, name: DEMO.orgName },
      });
      const team = await tx.team.upsert({
        where: { orgId_slug: { orgId: org.id, slug: DEMO.teamSlug } },
        update: {},
        create: { orgId: org.id, slug: DEMO.teamSlug, name: DEMO.teamName },
      });
      const user = await tx.user.upsert({
        where: { email: DEMO.email },
        update: {},
        create: { email: DEMO.email, name: "Demo User", emailVerified: true },
      });
      await setCredentialPassword(tx, user.id, DEMO.password);
      // Org-wide membership has teamId NULL, which a unique index does not dedupe: look it up.
      const membership = await tx.membership.findFirst({
        where: { userId: user.id, orgId: org.id, teamId: null },
      });
      if (membership)
        await tx.membership.update({
          where: { id: membership.id },
          data: { role: Role.ORG_OWNER },
        });
      else
        await tx.membership.create({
          data: { userId: user.id, orgId: org.id, teamId: null, role: Role.ORG_OWNER },
        });
      const revoked = await tx.virtualKey.updateMany({
        where: { teamId: team.id, name: DEMO.keyName, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      const key = await createVirtualKey(tx, {
        orgId: org.id,
        teamId: team.id,
        name: DEMO.keyName,
        rpmLimit: DEMO.keyRpm,
      });
      const budget = await tx.budget.findFirst({ where: { teamId: team.id, scope: "TEAM", period: "MONTH" } });
      if (!budget)
        await tx.budget.create({
          data: {
            orgId: org.id,
            scope: "TEAM",
            teamId: team.id,
            amountNanoUsd: DEMO.teamBudgetNanoUsd,
            period: "MONTH",
            hard: true,
            recipients: [DEMO.email],
          },
        });
      return { org, team, user, key, revokedKeys: revoked.count };
    },
    { timeout: 30_000 },
  );
  let config: ApplySummary | null = null;
  if (cfg) config = await applyConfig(db, cfg, ctx.env.SWITCHYARD_ENCRYPTION_KEY);
  const published = await publishConfigChanged(ctx, config ? "config" : "keys");

  return {
    json: {
      org: { id: result.org.id, slug: result.org.slug, name: result.org.name },
      team: { id: result.team.id, slug: result.team.slug },
      user: { email: result.user.email, password: DEMO.password, role: "org_owner" },
      key: {
        key: result.key.key,
        id: result.key.id,
        prefix: result.key.prefix,
        name: result.key.name,
      },
      revokedKeys: result.revokedKeys,
      config,
      published,
    },
    text: [
      `Seeded organization ${result.org.slug} ("${result.org.name}"), team ${result.team.slug}.`,
      `Dashboard sign-in: ${result.user.email} / ${DEMO.password}`,
      `Virtual key (shown once${result.revokedKeys ? `; ${result.revokedKeys} earlier demo key(s) revoked` : ""}):`,
      "",
      `  ${result.key.key}`,
      ...(config
        ? [
            "",
            `Applied ${configFile}: providers ${fmt(config.providers)}, models ${fmt(config.models)}, routes ${fmt(config.routes)}`,
          ]
        : []),
    ].join("\n"),
  };
}

function fmt(c: ApplySummary["providers"]): string {
  return `+${c.created} ~${c.updated} -${c.deleted} =${c.unchanged}`;
}
