import {
  ConfigSource,
  Prisma,
  decodeEncryptionKey,
  decryptSecret,
  encryptSecret,
  type PrismaClient,
} from "@switchyard/db";
import { loadConfigFile } from "@switchyard/config";
import {
  configProviderKeys,
  providerKeyLast4,
  type ConfigModel,
  type ConfigProviderKey,
  type ConfigRoute,
  type RouteOptions,
  type SwitchyardConfig,
} from "@switchyard/contracts";
import type { CommandContext, CommandResult } from "../context";
import { CliError } from "../errors";
import { publishConfigChanged } from "../notify";

export interface ChangeCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
}
export interface ApplySummary {
  providers: ChangeCounts;
  /** Keys of the file's providers (keys of deleted providers go with them, uncounted). */
  providerKeys: ChangeCounts;
  models: ChangeCounts;
  routes: ChangeCounts;
}

const zero = (): ChangeCounts => ({ created: 0, updated: 0, deleted: 0, unchanged: 0 });

/** JSON with sorted keys, so stored and declared values compare by content. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

/** The route's options as stored in routes.options (only what the file sets). */
function routeOptionsOf(r: ConfigRoute): RouteOptions {
  const out: RouteOptions = {};
  if (r.sticky !== undefined) out.sticky = r.sticky;
  if (r.maxTokens !== undefined) out.maxTokens = r.maxTokens;
  if (r.cache !== undefined) out.cache = r.cache;
  if (r.retry !== undefined) out.retry = r.retry;
  return out;
}

function capabilitiesOf(m: ConfigModel): Record<string, number | boolean> {
  const caps: Record<string, number | boolean> = {};
  for (const k of ["contextWindow", "maxOutputTokens", "tools", "vision", "jsonMode", "streaming"] as const) {
    const v = m[k];
    if (v !== undefined) caps[k] = v;
  }
  return caps;
}

function conflict(kind: string, name: string): CliError {
  return new CliError(
    `${kind} "${name}" already exists and was created in the dashboard; the config file cannot take it over. ` +
      "Rename it in switchyard.yaml or delete the dashboard entry, then apply again.",
  );
}

type Tx = Prisma.TransactionClient;

/** Upserts one provider's keys by label and deletes the file's keys it no longer lists. */
async function applyProviderKeys(
  tx: Tx,
  slug: string,
  providerId: string,
  declared: ConfigProviderKey[],
  needKey: (provider: string) => Buffer,
  counts: ChangeCounts,
): Promise<void> {
  const existing = new Map(
    (await tx.providerKey.findMany({ where: { providerId } })).map((k) => [k.label, k]),
  );
  for (const k of declared) {
    const isRef = k.apiKey.startsWith("env:");
    const have = existing.get(k.label);
    if (have && have.source !== ConfigSource.CONFIG_FILE)
      throw conflict("provider key", `${slug}/${k.label}`);
    // Ciphertexts differ on every encryption (random IV): compare the clear secret.
    let same: boolean;
    if (!have) same = false;
    else if (isRef) same = have.apiKeyRef === k.apiKey;
    else {
      try {
        same =
          have.apiKeyEncrypted !== null &&
          decryptSecret(have.apiKeyEncrypted, needKey(slug)) === k.apiKey;
      } catch (err) {
        if (err instanceof CliError) throw err;
        same = false; // encrypted with another key: re-encrypt with the current one
      }
    }
    if (same) {
      counts.unchanged++;
      continue;
    }
    const secret = isRef
      ? { apiKeyRef: k.apiKey, apiKeyEncrypted: null, last4: null }
      : {
          apiKeyRef: null,
          apiKeyEncrypted: encryptSecret(k.apiKey, needKey(slug)),
          last4: providerKeyLast4(k.apiKey),
        };
    if (!have) {
      await tx.providerKey.create({
        data: { providerId, label: k.label, ...secret, source: ConfigSource.CONFIG_FILE },
      });
      counts.created++;
    } else {
      await tx.providerKey.update({
        where: { id: have.id },
        data: { ...secret, rotatedAt: new Date() },
      });
      counts.updated++;
    }
  }
  counts.deleted += (
    await tx.providerKey.deleteMany({
      where: {
        providerId,
        source: ConfigSource.CONFIG_FILE,
        label: { notIn: declared.map((k) => k.label) },
      },
    })
  ).count;
}

/**
 * Makes the database match the file, in one transaction. Only CONFIG_FILE entries
 * are touched: those in the file are created or updated, those no longer in it are
 * deleted (config as code: the file is the source of truth for what it owns).
 * DASHBOARD entries are never modified; a name clash with one is an error.
 * Provider keys are matched by (provider, label): a literal apiKey is stored AES-256-GCM
 * encrypted, an "env:NAME" one as a reference; keys the file no longer lists are
 * deleted, keys added in the dashboard are left alone.
 */
export async function applyConfig(
  prisma: PrismaClient,
  cfg: SwitchyardConfig,
  encryptionKeyText: string | undefined,
): Promise<ApplySummary> {
  const summary: ApplySummary = {
    providers: zero(),
    providerKeys: zero(),
    models: zero(),
    routes: zero(),
  };
  let encKey: Buffer | undefined;
  const needKey = (provider: string): Buffer => {
    if (!encryptionKeyText)
      throw new CliError(
        `SWITCHYARD_ENCRYPTION_KEY is not set: it is needed to store the literal apiKey of provider "${provider}" encrypted (or use "env:NAME")`,
      );
    encKey ??= decodeEncryptionKey(encryptionKeyText);
    return encKey;
  };

  await prisma.$transaction(
    async (tx) => {
      // Providers (the connection) and their keys (one per account).
      const providerIds = new Map<string, string>();
      for (const p of cfg.providers) {
        const want = {
          type: p.type,
          baseUrl: p.baseUrl ?? null,
          apiVersion: p.apiVersion ?? null,
        };
        const existing = await tx.providerCredential.findUnique({ where: { slug: p.id } });
        if (existing && existing.source !== ConfigSource.CONFIG_FILE)
          throw conflict("provider", p.id);
        let providerId: string;
        if (!existing) {
          providerId = (
            await tx.providerCredential.create({
              data: { slug: p.id, ...want, source: ConfigSource.CONFIG_FILE },
            })
          ).id;
          summary.providers.created++;
        } else {
          providerId = existing.id;
          if (
            existing.type === want.type &&
            existing.baseUrl === want.baseUrl &&
            existing.apiVersion === want.apiVersion
          )
            summary.providers.unchanged++;
          else {
            await tx.providerCredential.update({ where: { id: existing.id }, data: want });
            summary.providers.updated++;
          }
        }
        providerIds.set(p.id, providerId);
        await applyProviderKeys(tx, p.id, providerId, configProviderKeys(p), needKey, summary.providerKeys);
      }

      // Models.
      for (const m of cfg.models) {
        const want = {
          providerId: providerIds.get(m.provider)!,
          upstreamModel: m.upstreamModel ?? m.name,
          pricing: m.pricing ?? null,
          capabilities: capabilitiesOf(m),
        };
        const existing = await tx.model.findUnique({ where: { name: m.name } });
        if (existing && existing.source !== ConfigSource.CONFIG_FILE)
          throw conflict("model", m.name);
        const data = { ...want, pricing: want.pricing ?? Prisma.DbNull };
        if (!existing) {
          await tx.model.create({
            data: { name: m.name, ...data, source: ConfigSource.CONFIG_FILE },
          });
          summary.models.created++;
        } else if (
          existing.providerId === want.providerId &&
          existing.upstreamModel === want.upstreamModel &&
          canonical(existing.pricing) === canonical(want.pricing) &&
          canonical(existing.capabilities) === canonical(want.capabilities)
        ) {
          summary.models.unchanged++;
        } else {
          await tx.model.update({ where: { id: existing.id }, data });
          summary.models.updated++;
        }
      }

      // Routes.
      for (const r of cfg.routes) {
        const existing = await tx.route.findUnique({ where: { alias: r.alias } });
        if (existing && existing.source !== ConfigSource.CONFIG_FILE)
          throw conflict("route", r.alias);
        const targets = r.targets as Prisma.InputJsonValue;
        const options = routeOptionsOf(r) as Prisma.InputJsonValue;
        if (!existing) {
          await tx.route.create({
            data: {
              alias: r.alias,
              strategy: r.strategy,
              targets,
              strict: r.strict,
              options,
              source: ConfigSource.CONFIG_FILE,
            },
          });
          summary.routes.created++;
        } else if (
          existing.strategy === r.strategy &&
          existing.strict === r.strict &&
          canonical(existing.targets) === canonical(r.targets) &&
          canonical(existing.options) === canonical(options)
        ) {
          summary.routes.unchanged++;
        } else {
          await tx.route.update({
            where: { id: existing.id },
            data: { strategy: r.strategy, targets, strict: r.strict, options },
          });
          summary.routes.updated++;
        }
      }

      // Deletions: config-file entries the file no longer declares.
      summary.routes.deleted = (
        await tx.route.deleteMany({
          where: {
            source: ConfigSource.CONFIG_FILE,
            alias: { notIn: cfg.routes.map((r) => r.alias) },
          },
        })
      ).count;
      summary.models.deleted = (
        await tx.model.deleteMany({
          where: {
            source: ConfigSource.CONFIG_FILE,
            name: { notIn: cfg.models.map((m) => m.name) },
          },
        })
      ).count;
      const goneProviders = await tx.providerCredential.findMany({
        where: {
          source: ConfigSource.CONFIG_FILE,
          slug: { notIn: cfg.providers.map((p) => p.id) },
        },
        include: {
          models: { where: { source: { not: ConfigSource.CONFIG_FILE } }, select: { name: true } },
        },
      });
      // Deleting such a provider would cascade to models made in the dashboard.
      const inUse = goneProviders.filter((p) => p.models.length > 0);
      if (inUse.length > 0) {
        const p = inUse[0]!;
        throw new CliError(
          `provider "${p.slug}" is no longer in the config file but dashboard models use it (${p.models.map((m) => m.name).join(", ")}); ` +
            "keep it in the file or move those models first",
        );
      }
      summary.providers.deleted = (
        await tx.providerCredential.deleteMany({
          where: { id: { in: goneProviders.map((p) => p.id) } },
        })
      ).count;
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
  return summary;
}

function describeCounts(kind: string, c: ChangeCounts): string {
  return `  ${kind.padEnd(10)} ${c.created} created, ${c.updated} updated, ${c.deleted} deleted, ${c.unchanged} unchanged`;
}

export function changed(s: ApplySummary): boolean {
  return [s.providers, s.providerKeys, s.models, s.routes].some((c) => c.created + c.updated + c.deleted > 0);
}

/** `switchyard config apply <file>` */
export async function configApplyCommand(
  ctx: CommandContext,
  file: string,
): Promise<CommandResult> {
  const cfg = loadConfigFile(file); // ConfigFileError names field + line
  const summary = await applyConfig(ctx.prisma, cfg, ctx.env.SWITCHYARD_ENCRYPTION_KEY);
  // Publish even when nothing changed: cheap, and it heals a proxy that missed a notice.
  const published = await publishConfigChanged(ctx, "config");
  return {
    json: { file, ...summary, published },
    text: [
      `Applied ${file}:`,
      describeCounts("providers", summary.providers),
      describeCounts("keys", summary.providerKeys),
      describeCounts("models", summary.models),
      describeCounts("routes", summary.routes),
    ].join("\n"),
  };
}
