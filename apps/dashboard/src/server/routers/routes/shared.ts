import { TRPCError } from "@trpc/server";
import { z } from "zod";
import {
  configRouteTargetSchema,
  routeOptionsSchema,
  routeStrategies,
  type RouteCondition,
  type RouteOptions,
  type RouteTarget,
} from "@switchyard/contracts";
import type { Prisma, PrismaClient } from "@switchyard/db";

type Db = PrismaClient | Prisma.TransactionClient;

/** Targets a route may list: enough for any real failover chain, few enough to read. */
export const MAX_ROUTE_TARGETS = 20;

/** A route alias clients send as `model`: the same characters as a model name. */
export const routeAliasSchema = z
  .string()
  .trim()
  .min(1, "Name the route.")
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "Letters, digits, '.', '_', ':', '/' or '-', starting with a letter or digit.");

function conditionFieldCount(when: RouteCondition): number {
  return (
    Object.keys(when.tags ?? {}).length +
    Object.keys(when.headers ?? {}).length +
    Object.keys(when.metadata ?? {}).length +
    (when.user === undefined ? 0 : 1)
  );
}

/**
 * What an org admin sets on a route, validated with the config file's schemas plus the
 * rules the strategies need, so a route saved here behaves as it reads:
 * - weights only on weighted routes and conditions only on conditional ones (elsewhere
 *   the proxy would ignore them silently);
 * - a conditional route has at least one target with a condition, and every condition
 *   names at least one field (an empty one would match every request); targets without
 *   a condition are the default;
 * - a model appears once, except in conditional routes (one model under several conditions);
 * - sticky is for weighted routes; the max-tokens default is at most the cap.
 */
export const routeSettingsSchema = z
  .object({
    alias: routeAliasSchema,
    strategy: z.enum(routeStrategies),
    targets: z
      .array(configRouteTargetSchema)
      .min(1, "A route needs at least one target.")
      .max(MAX_ROUTE_TARGETS, `At most ${MAX_ROUTE_TARGETS} targets.`),
    strict: z.boolean().default(false),
    options: routeOptionsSchema.default({}),
  })
  .superRefine((r, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    r.targets.forEach((t, i) => {
      if (t.weight !== undefined && r.strategy !== "weighted")
        issue(["targets", i, "weight"], "Weights apply to weighted routes only.");
      if (t.when !== undefined && r.strategy !== "conditional")
        issue(["targets", i, "when"], "Conditions apply to conditional routes only.");
      if (t.when !== undefined && conditionFieldCount(t.when) === 0)
        issue(["targets", i, "when"], "A condition needs at least one tag, header, metadata or user value.");
    });
    if (r.strategy === "conditional" && !r.targets.some((t) => t.when !== undefined))
      issue(["targets"], "A conditional route needs at least one target with a condition.");
    if (r.strategy !== "conditional") {
      const seen = new Set<string>();
      r.targets.forEach((t, i) => {
        if (seen.has(t.model)) issue(["targets", i, "model"], `'${t.model}' is listed twice.`);
        seen.add(t.model);
      });
    }
    if (r.options.sticky && r.strategy !== "weighted")
      issue(["options", "sticky"], "Sticky applies to weighted routes only.");
    const max = r.options.maxTokens;
    if (max?.default !== undefined && max.cap !== undefined && max.default > max.cap)
      issue(["options", "maxTokens", "default"], "The max-tokens default cannot exceed the cap.");
  });
export type RouteSettings = z.infer<typeof routeSettingsSchema>;

export const routeRowSchema = z.object({
  id: z.string(),
  alias: z.string(),
  /** true: instance-wide (every organisation's keys see it); false: this organisation's own. */
  instanceWide: z.boolean(),
  source: z.enum(["CONFIG_FILE", "DASHBOARD"]),
  /** Whether this user may change it here (the organisation's own dashboard routes, for its admins). */
  editable: z.boolean(),
  strategy: z.string(),
  targets: z.array(configRouteTargetSchema),
  strict: z.boolean(),
  options: routeOptionsSchema,
  /** Stored parts the proxy ignores (malformed targets or options, an unknown strategy). */
  invalid: z.boolean(),
  updatedAt: z.date(),
});
export type RouteRow = z.infer<typeof routeRowSchema>;

interface StoredRoute {
  id: string;
  orgId: string | null;
  alias: string;
  strategy: string;
  targets: Prisma.JsonValue;
  strict: boolean;
  options: Prisma.JsonValue;
  source: "CONFIG_FILE" | "DASHBOARD";
  updatedAt: Date;
}

/** A stored route as the page shows it; malformed parts are dropped and flagged, as the proxy does. */
export function routeRowOf(r: StoredRoute, canEdit: boolean): RouteRow {
  const targets: RouteTarget[] = [];
  let invalid = !(routeStrategies as readonly string[]).includes(r.strategy);
  for (const t of Array.isArray(r.targets) ? r.targets : []) {
    const parsed = configRouteTargetSchema.safeParse(t);
    if (parsed.success) targets.push(parsed.data);
    else invalid = true;
  }
  if (!Array.isArray(r.targets)) invalid = true;
  const options = routeOptionsSchema.safeParse(r.options);
  if (!options.success) invalid = true;
  return {
    id: r.id,
    alias: r.alias,
    instanceWide: r.orgId === null,
    source: r.source,
    editable: canEdit && r.orgId !== null && r.source === "DASHBOARD",
    strategy: r.strategy,
    targets,
    strict: r.strict,
    options: options.success ? options.data : ({} satisfies RouteOptions),
    invalid,
    updatedAt: r.updatedAt,
  };
}

/** Routes a member of `orgId` sees: instance-wide ones and the organisation's own. */
export function visibleRoutesWhere(orgId: string): Prisma.RouteWhereInput {
  return { OR: [{ orgId: null }, { orgId }] };
}

/** Model names the organisation's keys can call (instance-wide models and its custom ones). */
export async function visibleModelNames(db: Db, orgId: string): Promise<string[]> {
  const models = await db.model.findMany({
    where: { OR: [{ orgId: null }, { orgId }] },
    select: { name: true },
    orderBy: { name: "asc" },
  });
  return models.map((m) => m.name);
}

/**
 * Checks a route against what exists: its alias is no model's name (model names win at
 * the proxy, so the route would never be used) and no other route's alias (aliases are
 * unique across the instance), and every target and the semantic-cache embedding model
 * are models this organisation's keys can call.
 */
export async function assertRouteFits(db: Db, orgId: string, route: RouteSettings, routeId?: string): Promise<void> {
  const [model, other, visible] = await Promise.all([
    db.model.findUnique({ where: { name: route.alias }, select: { id: true } }),
    db.route.findUnique({ where: { alias: route.alias }, select: { id: true } }),
    visibleModelNames(db, orgId),
  ]);
  if (model) throw new TRPCError({ code: "CONFLICT", message: `'${route.alias}' is already a model name.` });
  if (other && other.id !== routeId)
    throw new TRPCError({ code: "CONFLICT", message: `A route named '${route.alias}' already exists.` });
  const known = new Set(visible);
  const unknown = [...new Set(route.targets.map((t) => t.model))].filter((m) => !known.has(m));
  if (unknown.length > 0)
    throw new TRPCError({ code: "BAD_REQUEST", message: `Unknown model${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}.` });
  const embedding = route.options.cache?.semantic?.embeddingModel;
  if (embedding !== undefined && !known.has(embedding))
    throw new TRPCError({ code: "BAD_REQUEST", message: `Unknown embedding model: ${embedding}.` });
}

/** The columns a route's settings are stored in (options as RouteOptions JSON). */
export function routeData(route: RouteSettings) {
  return {
    alias: route.alias,
    strategy: route.strategy,
    targets: route.targets as Prisma.InputJsonValue,
    strict: route.strict,
    options: route.options as Prisma.InputJsonValue,
  };
}

/**
 * A route the organisation's admins may change: its own, made in the dashboard. Another
 * organisation's route does not exist for them (NOT_FOUND); an instance-wide or
 * config-file one is read-only here (FORBIDDEN).
 */
export async function loadOwnRoute(db: Db, orgId: string, routeId: string) {
  const route = await db.route.findUnique({
    where: { id: routeId },
    select: { id: true, orgId: true, alias: true, source: true },
  });
  if (!route || (route.orgId !== null && route.orgId !== orgId))
    throw new TRPCError({ code: "NOT_FOUND", message: "No such route." });
  if (route.orgId === null || route.source === "CONFIG_FILE")
    throw new TRPCError({ code: "FORBIDDEN", message: "This route is set in switchyard.yaml; change it there." });
  return route;
}
