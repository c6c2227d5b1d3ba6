import type { Redis } from "ioredis";
import { resolveSecretRef } from "@switchyard/config";
import {
  CONFIG_CHANGED_CHANNEL,
  configRouteTargetSchema,
  modelCapabilitiesSchema,
  modelPricingSchema,
  routeOptionsSchema,
  routeStrategies,
  type ModelCapabilities,
  type ModelPricing,
  type RouteCondition,
  type RouteOptions,
  type RouteStrategy,
} from "@switchyard/contracts";
import { decodeEncryptionKey, decryptSecret } from "@switchyard/db/secrets";
import { MAX_NANO_USD, type BudgetPeriod } from "@switchyard/limits";
import { resolveCapabilities, resolvePricing } from "@switchyard/pricing";
import { getProviderAdapter } from "@switchyard/providers";
import type { Logger } from "./logger";
import type { ProxyMetrics } from "./metrics";

/** A virtual key as the request path needs it. The clear key is never held. */
const warnedMissingRefs = new Set<string>();

export interface KeyEntry {
  id: string;
  orgId: string;
  teamId: string;
  name: string;
  /** Public model names or route aliases; empty = every model. */
  allowedModels: ReadonlySet<string>;
  rpmLimit: number | null;
  tpmLimit: number | null;
  tags: Readonly<Record<string, string>>;
  expiresAt: number | null;
  revokedAt: number | null;
  /** Set on the entry of a rotated-out secret: it is accepted until then (the grace period). */
  graceEndsAt: number | null;
}

/** One usable account key of a provider, resolved (env) or decrypted: held in clear, never logged. */
export interface ProviderKeyEntry {
  id: string;
  label: string;
  apiKey: string;
}

export interface ProviderEntry {
  id: string;
  slug: string;
  type: string;
  baseUrl: string | null;
  apiVersion: string | null;
  /**
   * The enabled keys that resolved, ordered by label. Empty: the provider gets no
   * credential (local servers without auth), as does a key that cannot be resolved.
   */
  keys: readonly ProviderKeyEntry[];
  /** Round-robin position over `keys`; the only mutable field of a snapshot (per process). */
  nextKey: number;
}

/**
 * The key for one upstream request: the provider's keys in turn, so load spreads over
 * the accounts, skipping keys that are cooling down after a 429 (any key when all are).
 */
export function pickProviderKey(provider: ProviderEntry, coolingDown?: (keyId: string) => boolean): ProviderKeyEntry | null {
  const n = provider.keys.length;
  if (n === 0) return null;
  let offset = 0;
  if (coolingDown) {
    while (offset < n && coolingDown(provider.keys[(provider.nextKey + offset) % n]!.id)) offset++;
    if (offset === n) offset = 0;
  }
  const key = provider.keys[(provider.nextKey + offset) % n]!;
  provider.nextKey = (provider.nextKey + offset + 1) % n;
  return key;
}

export interface ModelEntry {
  name: string;
  /** null: instance-wide (config file); set: a custom model of that organisation, callable only by its keys. */
  orgId: string | null;
  upstreamModel: string;
  provider: ProviderEntry;
  /** Configured price, else the built-in list price of the upstream model; null = unpriced. */
  pricing: ModelPricing | null;
  /** What the model can take; unset fields are unknown (and not filtered on). */
  capabilities: Readonly<ModelCapabilities>;
  createdAt: Date;
}

export interface RouteTargetEntry {
  /** Public model name. */
  model: string;
  /** weighted: relative share (default 1). */
  weight: number;
  /** conditional: when the target applies; null = a default target. */
  when: RouteCondition | null;
}

export interface RouteEntry {
  alias: string;
  /** null: instance-wide; set: an organisation's own route, visible only to its keys. */
  orgId: string | null;
  strategy: RouteStrategy;
  targets: readonly RouteTargetEntry[];
  /** Refuse parameters a target cannot honour instead of dropping them. */
  strict: boolean;
  options: Readonly<RouteOptions>;
  createdAt: Date;
}

export interface TeamEntry {
  id: string;
  orgId: string;
  slug: string;
  /** Requests / tokens per minute over all of the team's keys together; null = unlimited. */
  rpmLimit: number | null;
  tpmLimit: number | null;
  /** Whether the team's request and response bodies are logged, and redacted first. */
  bodyLogging: BodyLogging;
}

export type BodyLogging = "off" | "redacted" | "full";

function bodyLoggingOf(v: string): BodyLogging {
  return v === "redacted" || v === "full" ? v : "off";
}

export interface OrgEntry {
  id: string;
  slug: string;
  /** IANA zone of the org's calendar budget periods (validated at load; UTC when invalid). */
  timeZone: string;
}

export type BudgetScopeName = "key" | "team" | "org";

/** A budget as the request path needs it: which period to count in and whether it blocks. */
export interface BudgetEntry {
  id: string;
  scope: BudgetScopeName;
  /** What the 429 calls it: the key's name, the team's or the org's slug. */
  scopeName: string;
  period: BudgetPeriod;
  limitNanoUsd: bigint;
  hard: boolean;
  /** The org's time zone: periods are calendar periods in it. */
  timeZone: string;
}

/** Everything the request path reads, swapped atomically as one immutable value. */
export interface Snapshot {
  keysByHash: ReadonlyMap<string, KeyEntry>;
  models: ReadonlyMap<string, ModelEntry>;
  routes: ReadonlyMap<string, RouteEntry>;
  teams: ReadonlyMap<string, TeamEntry>;
  orgs: ReadonlyMap<string, OrgEntry>;
  /** Budgets by the id of what they cover: a key's, a team's and an org's are three lookups. */
  budgetsByKey: ReadonlyMap<string, readonly BudgetEntry[]>;
  budgetsByTeam: ReadonlyMap<string, readonly BudgetEntry[]>;
  budgetsByOrg: ReadonlyMap<string, readonly BudgetEntry[]>;
  /** Per-organisation prices: orgId → upstream model → pricing (price_overrides). */
  priceOverrides: ReadonlyMap<string, ReadonlyMap<string, ModelPricing>>;
  loadedAt: Date;
}

/** A model's price for one organisation: its override of the upstream model, else the model's own price. */
export function pricingFor(snapshot: Snapshot, model: ModelEntry, orgId: string | null): ModelPricing | null {
  const override = orgId ? snapshot.priceOverrides.get(orgId)?.get(model.upstreamModel) : undefined;
  // The override wins over the model's configured price and the registry.
  return override ?? model.pricing;
}

/**
 * Savings ledger: the price of what the client asked for. A model name: that model's;
 * a route alias: its first target's (null when that target does not exist).
 */
export function requestedPricingFor(snapshot: Snapshot, resolved: ResolvedModel, orgId: string | null): ModelPricing | null {
  if (!resolved.route) return pricingFor(snapshot, resolved.model, orgId);
  const first = resolved.route.targets[0]?.model;
  const model = first === undefined ? undefined : snapshot.models.get(first);
  return model && modelVisibleTo(model, orgId) ? pricingFor(snapshot, model, orgId) : null;
}

export interface ResolvedModel {
  /** The name the client sent (a model name or a route alias). */
  requested: string;
  model: ModelEntry;
  route: RouteEntry | null;
}

/**
 * A public name → the model to serve. A route alias resolves to its first target that
 * exists (routing strategies and failover come later). Model names win over aliases.
 */
/** Whether a model may be called by a key of `orgId` (custom models belong to one organisation). */
export function modelVisibleTo(model: ModelEntry, orgId: string | null): boolean {
  return model.orgId === null || model.orgId === orgId;
}

/**
 * A model name or route alias → the model to call, as seen by a key of `orgId`: another
 * organisation's custom model does not exist for it (nor as a route target).
 */
export function resolveModel(snapshot: Snapshot, name: string, orgId: string | null): ResolvedModel | null {
  const model = snapshot.models.get(name);
  if (model) return modelVisibleTo(model, orgId) ? { requested: name, model, route: null } : null;
  const route = snapshot.routes.get(name);
  if (!route || (route.orgId !== null && route.orgId !== orgId)) return null;
  for (const target of route.targets) {
    const m = snapshot.models.get(target.model);
    if (m && modelVisibleTo(m, orgId)) return { requested: name, model: m, route };
  }
  return null;
}

export interface SnapshotLoadOptions {
  /** Resolves "env:NAME" provider key references. */
  secretEnv: Readonly<Record<string, string | undefined>>;
  encryptionKey: string;
  logger: Logger;
}

function stringTags(json: unknown): Record<string, string> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(json)) {
    if (typeof v === "string") out[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") out[k] = String(v);
  }
  return out;
}

/** Stored targets → entries; a malformed target is left out (and logged by the caller). */
function routeTargets(json: unknown): { targets: RouteTargetEntry[]; invalid: number } {
  if (!Array.isArray(json)) return { targets: [], invalid: 1 };
  const targets: RouteTargetEntry[] = [];
  let invalid = 0;
  for (const t of json as unknown[]) {
    const parsed = configRouteTargetSchema.safeParse(t);
    if (parsed.success) targets.push({ model: parsed.data.model, weight: parsed.data.weight ?? 1, when: parsed.data.when ?? null });
    else invalid++;
  }
  return { targets, invalid };
}

function routeStrategy(s: string): RouteStrategy | null {
  return (routeStrategies as readonly string[]).includes(s) ? (s as RouteStrategy) : null;
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const warnedTimeZones = new Set<string>();

function pushTo<T>(map: Map<string, T[]>, id: string, v: T): void {
  const list = map.get(id);
  if (list) list.push(v);
  else map.set(id, [v]);
}

/**
 * What the snapshot reads Postgres through: a pg Pool. Plain SQL, not Prisma: the Prisma
 * client and its WebAssembly query compiler cost the proxy ~26 MB of RSS at rest and ~45 MB
 * under load for these eight reads (see README, Performance). Tables and columns are those of
 * packages/db/prisma/schema.prisma (snake_case tables, camelCase columns).
 */
export interface SnapshotDb {
  query<R>(sql: string): Promise<{ rows: R[] }>;
}

interface KeyRow {
  id: string;
  orgId: string;
  teamId: string;
  name: string;
  keyHash: string;
  allowedModels: string[];
  rpmLimit: number | null;
  tpmLimit: number | null;
  tags: unknown;
  expiresAt: Date | null;
  revokedAt: Date | null;
  previousKeyHash: string | null;
  previousKeyExpiresAt: Date | null;
}
interface ProviderRow {
  id: string;
  slug: string;
  type: string;
  baseUrl: string | null;
  apiVersion: string | null;
}
interface ProviderKeyRow {
  id: string;
  providerId: string;
  label: string;
  apiKeyRef: string | null;
  apiKeyEncrypted: string | null;
}
interface ModelRow {
  name: string;
  orgId: string | null;
  providerId: string;
  upstreamModel: string;
  pricing: unknown;
  capabilities: unknown;
  createdAt: Date;
}
interface RouteRow {
  alias: string;
  orgId: string | null;
  strategy: string;
  targets: unknown;
  strict: boolean;
  options: unknown;
  createdAt: Date;
}
interface TeamRow {
  id: string;
  orgId: string;
  slug: string;
  rpmLimit: number | null;
  tpmLimit: number | null;
  bodyLogging: string;
}
interface OrgRow {
  id: string;
  slug: string;
  timeZone: string;
}
interface BudgetRow {
  id: string;
  orgId: string;
  scope: "KEY" | "TEAM" | "ORG";
  teamId: string | null;
  virtualKeyId: string | null;
  /** int8 as text (pg leaves it a string; BigInt() takes it exactly). */
  amountNanoUsd: string;
  period: string;
  hard: boolean;
}
interface OverrideRow {
  orgId: string;
  upstreamModel: string;
  pricing: unknown;
}

async function rows<R>(db: SnapshotDb, sql: string): Promise<R[]> {
  return (await db.query<R>(sql)).rows;
}

/** Reads keys, teams, orgs, budgets, providers, models and routes from Postgres (at boot and on reload only). */
export async function loadSnapshot(db: SnapshotDb, opts: SnapshotLoadOptions): Promise<Snapshot> {
  const [keys, providerRows, providerKeys, models, routes, teams, orgs, budgetRows, overrides] = await Promise.all([
    rows<KeyRow>(
      db,
      `SELECT "id", "orgId", "teamId", "name", "keyHash", COALESCE("allowedModels", '{}') AS "allowedModels", "rpmLimit", "tpmLimit",
              "tags", "expiresAt", "revokedAt", "previousKeyHash", "previousKeyExpiresAt"
         FROM "virtual_keys"`,
    ),
    rows<ProviderRow>(db, `SELECT "id", "slug", "type", "baseUrl", "apiVersion" FROM "provider_credentials"`),
    rows<ProviderKeyRow>(
      db,
      `SELECT "id", "providerId", "label", "apiKeyRef", "apiKeyEncrypted" FROM "provider_keys"
        WHERE "disabledAt" IS NULL ORDER BY "label" ASC, "id" ASC`,
    ),
    rows<ModelRow>(db, `SELECT "name", "orgId", "providerId", "upstreamModel", "pricing", "capabilities", "createdAt" FROM "models"`),
    rows<RouteRow>(db, `SELECT "alias", "orgId", "strategy", "targets", "strict", "options", "createdAt" FROM "routes"`),
    rows<TeamRow>(db, `SELECT "id", "orgId", "slug", "rpmLimit", "tpmLimit", "bodyLogging" FROM "teams"`),
    rows<OrgRow>(db, `SELECT "id", "slug", "timeZone" FROM "organizations"`),
    rows<BudgetRow>(
      db,
      `SELECT "id", "orgId", "scope"::text AS "scope", "teamId", "virtualKeyId", "amountNanoUsd"::text AS "amountNanoUsd",
              "period"::text AS "period", "hard"
         FROM "budgets" ORDER BY "id" ASC`,
    ),
    rows<OverrideRow>(db, `SELECT "orgId", "upstreamModel", "pricing" FROM "price_overrides"`),
  ]);
  const keysOfProvider = new Map<string, ProviderKeyRow[]>();
  for (const k of providerKeys) pushTo(keysOfProvider, k.providerId, k);
  const providers = providerRows.map((p) => ({ ...p, keys: keysOfProvider.get(p.id) ?? [] }));
  const budgets = budgetRows.map((b) => ({ ...b, amountNanoUsd: BigInt(b.amountNanoUsd) }));
  const encKey = decodeEncryptionKey(opts.encryptionKey);

  const keysByHash = new Map<string, KeyEntry>();
  for (const k of keys) {
    const entry: KeyEntry = {
      id: k.id,
      orgId: k.orgId,
      teamId: k.teamId,
      name: k.name,
      allowedModels: new Set(k.allowedModels),
      rpmLimit: k.rpmLimit,
      tpmLimit: k.tpmLimit,
      tags: stringTags(k.tags),
      expiresAt: k.expiresAt?.getTime() ?? null,
      revokedAt: k.revokedAt?.getTime() ?? null,
      graceEndsAt: null,
    };
    keysByHash.set(k.keyHash, entry);
    // A rotated key's old secret is the same key (same id, limits, budgets) until its grace ends.
    if (k.previousKeyHash && k.previousKeyExpiresAt) {
      keysByHash.set(k.previousKeyHash, { ...entry, graceEndsAt: k.previousKeyExpiresAt.getTime() });
    }
  }

  const providersById = new Map<string, ProviderEntry>();
  for (const p of providers) {
    const resolved: ProviderKeyEntry[] = [];
    for (const k of p.keys) {
      let apiKey: string | null = null;
      if (k.apiKeyRef) {
        apiKey = resolveSecretRef(k.apiKeyRef, opts.secretEnv) ?? null;
        // Once per process and key, not at every periodic reload.
        if (apiKey === null && !warnedMissingRefs.has(k.id)) {
          warnedMissingRefs.add(k.id);
          opts.logger.warn({ provider: p.slug, key: k.label, ref: k.apiKeyRef }, "provider key reference is not set in the environment");
        }
      } else if (k.apiKeyEncrypted) {
        try {
          apiKey = decryptSecret(k.apiKeyEncrypted, encKey);
        } catch {
          // A wrong SWITCHYARD_ENCRYPTION_KEY: this key is left out of the rotation.
          opts.logger.error({ provider: p.slug, key: k.label }, "cannot decrypt provider key (is SWITCHYARD_ENCRYPTION_KEY the one it was written with?)");
        }
      }
      if (apiKey !== null && apiKey !== "") resolved.push({ id: k.id, label: k.label, apiKey });
    }
    const adapter = getProviderAdapter(p.type);
    providersById.set(p.id, {
      id: p.id,
      slug: p.slug,
      type: p.type,
      baseUrl: p.baseUrl ?? adapter?.defaultBaseUrl ?? null,
      apiVersion: p.apiVersion,
      keys: resolved,
      nextKey: 0,
    });
  }

  const modelMap = new Map<string, ModelEntry>();
  for (const m of models) {
    const provider = providersById.get(m.providerId);
    if (!provider) continue;
    let configured: ModelPricing | null = null;
    if (m.pricing !== null) {
      const parsed = modelPricingSchema.safeParse(m.pricing);
      if (parsed.success) configured = parsed.data;
      else opts.logger.warn({ model: m.name }, "ignoring invalid pricing on model");
    }
    const caps = modelCapabilitiesSchema.safeParse(m.capabilities);
    if (!caps.success) opts.logger.warn({ model: m.name }, "ignoring invalid capabilities on model");
    modelMap.set(m.name, {
      name: m.name,
      orgId: m.orgId,
      upstreamModel: m.upstreamModel,
      provider,
      pricing: resolvePricing(m.upstreamModel, configured),
      capabilities: resolveCapabilities(m.upstreamModel, caps.success ? caps.data : {}),
      createdAt: m.createdAt,
    });
  }

  const routeMap = new Map<string, RouteEntry>();
  for (const r of routes) {
    const strategy = routeStrategy(r.strategy);
    const { targets, invalid } = routeTargets(r.targets);
    const options = routeOptionsSchema.safeParse(r.options);
    if (!strategy || invalid > 0 || !options.success) {
      opts.logger.warn({ route: r.alias, strategy: r.strategy, invalidTargets: invalid, invalidOptions: !options.success }, "route has invalid parts; those are ignored");
    }
    routeMap.set(r.alias, {
      alias: r.alias,
      orgId: r.orgId,
      strategy: strategy ?? "fallback",
      targets,
      strict: r.strict,
      options: options.success ? options.data : {},
      createdAt: r.createdAt,
    });
  }

  const teamMap = new Map<string, TeamEntry>();
  for (const t of teams) {
    teamMap.set(t.id, { id: t.id, orgId: t.orgId, slug: t.slug, rpmLimit: t.rpmLimit, tpmLimit: t.tpmLimit, bodyLogging: bodyLoggingOf(t.bodyLogging) });
  }
  const priceOverrides = new Map<string, Map<string, ModelPricing>>();
  for (const o of overrides) {
    const parsed = modelPricingSchema.safeParse(o.pricing);
    if (!parsed.success) {
      opts.logger.warn({ orgId: o.orgId, upstreamModel: o.upstreamModel }, "ignoring invalid price override");
      continue;
    }
    const byModel = priceOverrides.get(o.orgId) ?? new Map<string, ModelPricing>();
    byModel.set(o.upstreamModel, parsed.data);
    priceOverrides.set(o.orgId, byModel);
  }
  const orgMap = new Map<string, OrgEntry>();
  for (const o of orgs) {
    let timeZone = o.timeZone;
    if (!validTimeZone(timeZone)) {
      if (!warnedTimeZones.has(o.id)) {
        warnedTimeZones.add(o.id);
        opts.logger.warn({ org: o.slug, timeZone }, "unknown time zone on organisation; its budget periods use UTC");
      }
      timeZone = "UTC";
    }
    orgMap.set(o.id, { id: o.id, slug: o.slug, timeZone });
  }
  const keyNames = new Map(keys.map((k) => [k.id, k.name]));
  const budgetsByKey = new Map<string, BudgetEntry[]>();
  const budgetsByTeam = new Map<string, BudgetEntry[]>();
  const budgetsByOrg = new Map<string, BudgetEntry[]>();
  for (const b of budgets) {
    const org = orgMap.get(b.orgId);
    const base = {
      id: b.id,
      period: b.period.toLowerCase() as BudgetPeriod,
      // The Redis scripts count exactly up to 2^53 nano-USD (~$9M per period); a larger limit is as good as none.
      limitNanoUsd: b.amountNanoUsd > MAX_NANO_USD ? MAX_NANO_USD : b.amountNanoUsd < 0n ? 0n : b.amountNanoUsd,
      hard: b.hard,
      timeZone: org?.timeZone ?? "UTC",
    };
    if (b.scope === "KEY" && b.virtualKeyId) {
      pushTo(budgetsByKey, b.virtualKeyId, { ...base, scope: "key", scopeName: keyNames.get(b.virtualKeyId) ?? b.virtualKeyId });
    } else if (b.scope === "TEAM" && b.teamId) {
      pushTo(budgetsByTeam, b.teamId, { ...base, scope: "team", scopeName: teamMap.get(b.teamId)?.slug ?? b.teamId });
    } else if (b.scope === "ORG") {
      pushTo(budgetsByOrg, b.orgId, { ...base, scope: "org", scopeName: org?.slug ?? b.orgId });
    }
  }

  return {
    keysByHash,
    models: modelMap,
    routes: routeMap,
    teams: teamMap,
    orgs: orgMap,
    budgetsByKey,
    budgetsByTeam,
    budgetsByOrg,
    priceOverrides,
    loadedAt: new Date(),
  };
}

export interface SnapshotStoreOptions extends SnapshotLoadOptions {
  db: SnapshotDb;
  metrics: ProxyMetrics;
}

/**
 * Holds the current snapshot. Reloads on any message on CONFIG_CHANGED_CHANNEL and on
 * a timer; a reload builds a whole new snapshot and swaps the reference, so a request
 * never sees half of one. A failed reload keeps the old snapshot.
 */
export class SnapshotStore {
  private snapshot: Snapshot | null = null;
  private inFlight: Promise<boolean> | null = null;
  private pending = false;
  private timer: NodeJS.Timeout | null = null;
  private subscriber: Redis | null = null;

  constructor(private readonly opts: SnapshotStoreOptions) {}

  get current(): Snapshot | null {
    return this.snapshot;
  }

  /** Reloads now; concurrent calls coalesce into one more reload after the running one. */
  reload(): Promise<boolean> {
    if (this.inFlight) {
      this.pending = true;
      return this.inFlight;
    }
    const run = async (): Promise<boolean> => {
      let ok: boolean;
      do {
        this.pending = false;
        try {
          this.snapshot = await loadSnapshot(this.opts.db, this.opts);
          ok = true;
          this.opts.metrics.snapshotReloaded(true);
          this.opts.logger.debug(
            { keys: this.snapshot.keysByHash.size, models: this.snapshot.models.size, routes: this.snapshot.routes.size },
            "snapshot loaded",
          );
        } catch (err) {
          ok = false;
          this.opts.metrics.snapshotReloaded(false);
          this.opts.logger.error({ err }, "snapshot reload failed; keeping the previous snapshot");
        }
      } while (this.pending);
      return ok;
    };
    this.inFlight = run().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Subscribes (on its own connection: a subscribed connection can do nothing else) and starts the timer. */
  async start(subscriber: Redis, refreshMs: number): Promise<void> {
    this.subscriber = subscriber;
    subscriber.on("message", (channel: string) => {
      if (channel === CONFIG_CHANGED_CHANNEL) void this.reload();
    });
    subscriber.on("error", (err: Error) => this.opts.logger.warn({ err: err.message }, "snapshot subscriber connection error"));
    await subscriber.subscribe(CONFIG_CHANGED_CHANNEL);
    // After a reconnect ioredis re-subscribes, but changes published meanwhile were missed.
    subscriber.on("ready", () => void this.reload());
    this.timer = setInterval(() => void this.reload(), refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.subscriber) {
      this.subscriber.disconnect();
      this.subscriber = null;
    }
    await this.inFlight;
  }
}
