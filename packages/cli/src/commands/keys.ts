import {
  BudgetPeriod,
  BudgetScope,
  generateVirtualKey,
  hashVirtualKey,
  type Prisma,
  type PrismaClient,
} from "@switchyard/db";
import { VIRTUAL_KEY_PREFIX, VIRTUAL_KEY_VISIBLE_CHARS } from "@switchyard/contracts";
import { formatNanoUsd } from "@switchyard/pricing";
import type { CommandContext, CommandResult } from "../context";
import { CliError } from "../errors";
import { findTeam } from "../lookup";
import { publishConfigChanged } from "../notify";

/** "12.5" USD → 12500000000n nano-USD, exactly (no float on the way). */
export function parseUsdToNano(usd: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(usd.trim());
  if (!m)
    throw new CliError(
      `invalid --budget-usd "${usd}": use a decimal amount such as 50 or 12.50 (at most 9 decimals)`,
    );
  return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

const periods: Record<string, BudgetPeriod> = {
  day: BudgetPeriod.DAY,
  week: BudgetPeriod.WEEK,
  month: BudgetPeriod.MONTH,
};

function positiveInt(value: string | undefined, flag: string): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 2_147_483_647)
    throw new CliError(`${flag} must be a positive integer`);
  return Number(value);
}

export interface CreateKeyArgs {
  team: string;
  org?: string;
  name?: string;
  models?: string;
  rpm?: string;
  tpm?: string;
  budgetUsd?: string;
  budgetPeriod?: string;
  expires?: string;
}

type Db = PrismaClient | Prisma.TransactionClient;

export interface CreatedKey {
  key: string;
  id: string;
  prefix: string;
  name: string;
}

/** Creates a key (and its KEY-scoped budget) and returns the clear key, which is not stored. */
export async function createVirtualKey(
  db: Db,
  input: {
    orgId: string;
    teamId: string;
    name: string;
    allowedModels?: string[];
    rpmLimit?: number | null;
    tpmLimit?: number | null;
    expiresAt?: Date | null;
    budget?: { amountNanoUsd: bigint; period: BudgetPeriod } | null;
  },
): Promise<CreatedKey> {
  const { key, hash, prefix } = generateVirtualKey();
  const vk = await db.virtualKey.create({
    data: {
      orgId: input.orgId,
      teamId: input.teamId,
      name: input.name,
      keyHash: hash,
      prefix,
      allowedModels: input.allowedModels ?? [],
      rpmLimit: input.rpmLimit ?? null,
      tpmLimit: input.tpmLimit ?? null,
      expiresAt: input.expiresAt ?? null,
    },
  });
  if (input.budget) {
    await db.budget.create({
      data: {
        orgId: input.orgId,
        scope: BudgetScope.KEY,
        virtualKeyId: vk.id,
        amountNanoUsd: input.budget.amountNanoUsd,
        period: input.budget.period,
      },
    });
  }
  return { key, id: vk.id, prefix, name: vk.name };
}

/** `switchyard keys create --team <slug> [--org] [--name] [--models a,b] [--rpm N] [--tpm N] [--budget-usd X --budget-period P] [--expires ISO]` */
export async function createKeyCommand(
  ctx: CommandContext,
  args: CreateKeyArgs,
): Promise<CommandResult> {
  const models = (args.models ?? "")
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m.length > 0);
  const rpmLimit = positiveInt(args.rpm, "--rpm");
  const tpmLimit = positiveInt(args.tpm, "--tpm");
  if (args.budgetPeriod !== undefined && args.budgetUsd === undefined)
    throw new CliError("--budget-period needs --budget-usd");
  let budget: { amountNanoUsd: bigint; period: BudgetPeriod } | null = null;
  if (args.budgetUsd !== undefined) {
    const periodName = args.budgetPeriod ?? "month";
    const period = periods[periodName];
    if (!period)
      throw new CliError(`invalid --budget-period "${periodName}": use day, week or month`);
    budget = { amountNanoUsd: parseUsdToNano(args.budgetUsd), period };
  }
  let expiresAt: Date | null = null;
  if (args.expires !== undefined) {
    expiresAt = new Date(args.expires);
    if (Number.isNaN(expiresAt.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(args.expires))
      throw new CliError(
        `invalid --expires "${args.expires}": use an ISO date such as 2026-12-31 or 2026-12-31T23:59:59Z`,
      );
  }

  const team = await findTeam(ctx.prisma, args.team, args.org);
  const name = args.name ?? "default";
  const created = await ctx.prisma.$transaction((tx) =>
    createVirtualKey(tx, {
      orgId: team.orgId,
      teamId: team.id,
      name,
      allowedModels: models,
      rpmLimit,
      tpmLimit,
      expiresAt,
      budget,
    }),
  );
  const published = await publishConfigChanged(ctx, "keys");
  const budgetOut = budget
    ? {
        amountUsd: formatNanoUsd(budget.amountNanoUsd),
        amountNanoUsd: budget.amountNanoUsd.toString(),
        period: budget.period.toLowerCase(),
      }
    : null;
  return {
    json: {
      key: created.key,
      id: created.id,
      prefix: created.prefix,
      name,
      org: team.org.slug,
      team: team.slug,
      models,
      rpm: rpmLimit,
      tpm: tpmLimit,
      budget: budgetOut,
      expiresAt: expiresAt?.toISOString() ?? null,
      published,
    },
    text: [
      `Created key "${name}" for team ${team.slug} (${team.org.slug}), id ${created.id}.`,
      `  models: ${models.length ? models.join(", ") : "all"}; rpm: ${rpmLimit ?? "unlimited"}; tpm: ${tpmLimit ?? "unlimited"}`,
      `  budget: ${budgetOut ? `$${budgetOut.amountUsd} per ${budgetOut.period}` : "none"}; expires: ${expiresAt?.toISOString() ?? "never"}`,
      "",
      `  ${created.key}`,
      "",
      "This key is shown once and cannot be recovered; store it now.",
    ].join("\n"),
  };
}

const MIN_PREFIX = VIRTUAL_KEY_PREFIX.length + 4;

/** `switchyard keys revoke <id | prefix | key>` */
export async function revokeKeyCommand(
  ctx: CommandContext,
  target: string,
): Promise<CommandResult> {
  const db = ctx.prisma;
  let key = await db.virtualKey.findUnique({ where: { id: target } });
  // A full key is matched by its hash (its clear text is never stored).
  if (!key && target.startsWith(VIRTUAL_KEY_PREFIX)) {
    const hash = hashVirtualKey(target);
    // The secret replaced by a rotation (still in its grace period) names the same key.
    key = await db.virtualKey.findFirst({ where: { OR: [{ keyHash: hash }, { previousKeyHash: hash }] } });
  }
  if (!key && target.startsWith(VIRTUAL_KEY_PREFIX) && target.length <= VIRTUAL_KEY_VISIBLE_CHARS) {
    // A bare "sk-sy-" or a couple of characters is a typo, not a key to revoke.
    if (target.length < MIN_PREFIX)
      throw new CliError(
        `prefix "${target}" is too short: give at least ${MIN_PREFIX} characters (keys are listed as ${VIRTUAL_KEY_VISIBLE_CHARS}), the id or the full key`,
      );
    // The stored prefix, or the start of it.
    const matches = await db.virtualKey.findMany({
      where: { prefix: { startsWith: target }, revokedAt: null },
      take: 2,
    });
    if (matches.length > 1)
      throw new CliError(`prefix ${target} matches several active keys; revoke by id instead`);
    key = matches[0] ?? null;
  }
  if (!key)
    throw new CliError(`no key matches "${target}" (give a key id, its prefix or the full key)`);
  if (key.revokedAt) {
    return {
      json: {
        id: key.id,
        prefix: key.prefix,
        name: key.name,
        revokedAt: key.revokedAt.toISOString(),
        alreadyRevoked: true,
        published: false,
      },
      text: `Key ${key.prefix}… (${key.id}) was already revoked at ${key.revokedAt.toISOString()}.`,
    };
  }
  const updated = await db.virtualKey.update({
    where: { id: key.id },
    data: { revokedAt: new Date() },
  });
  const published = await publishConfigChanged(ctx, "keys");
  return {
    json: {
      id: updated.id,
      prefix: updated.prefix,
      name: updated.name,
      revokedAt: updated.revokedAt?.toISOString() ?? null,
      alreadyRevoked: false,
      published,
    },
    text: `Revoked key ${updated.prefix}… "${updated.name}" (${updated.id}).`,
  };
}
