import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError } from "@switchyard/contracts";
import { authenticate, isModelAllowed } from "../auth";
import type { RequestContext, RouteDeps } from "../context";
import { sendJson } from "../http";
import { modelVisibleTo, resolveModel, type ModelEntry, type RouteEntry, type Snapshot } from "../snapshot";

/** What a model can do, in OpenAI's snake_case; null = not configured (unknown, not "no"). */
export interface ListedCapabilities {
  context_window: number | null;
  max_output_tokens: number | null;
  tools: boolean | null;
  vision: boolean | null;
  json_mode: boolean | null;
}

export interface ListedTarget {
  model: string;
  provider: string;
  provider_type: string;
}

/** OpenAI's model object plus where it runs and what it can do. */
export interface ListedModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  /** Provider credential slug; null for a route alias (its targets say). */
  provider: string | null;
  provider_type: string | null;
  capabilities: ListedCapabilities;
  /** Route aliases only: the models it routes to, in order. */
  targets?: ListedTarget[];
}

const positiveInt = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : null);
const bool = (v: unknown): boolean | null => (typeof v === "boolean" ? v : null);

/** The Model row's capabilities Json ({contextWindow, maxOutputTokens, tools, vision, jsonMode}). */
export function listedCapabilities(caps: Readonly<Record<string, unknown>>): ListedCapabilities {
  return {
    context_window: positiveInt(caps.contextWindow),
    max_output_tokens: positiveInt(caps.maxOutputTokens),
    tools: bool(caps.tools),
    vision: bool(caps.vision),
    json_mode: bool(caps.jsonMode),
  };
}

/**
 * What a client can rely on whichever target serves an alias: the smallest limits, and
 * a feature only if every target has it (false if any lacks it, null if unknown).
 */
function aliasCapabilities(targets: readonly ModelEntry[]): ListedCapabilities {
  const all = targets.map((t) => listedCapabilities(t.capabilities));
  const minOf = (xs: (number | null)[]) => (xs.length > 0 && xs.every((x) => x !== null) ? Math.min(...(xs)) : null);
  const andOf = (xs: (boolean | null)[]) => (xs.includes(false) ? false : xs.length > 0 && xs.every((x) => x === true) ? true : null);
  return {
    context_window: minOf(all.map((c) => c.context_window)),
    max_output_tokens: minOf(all.map((c) => c.max_output_tokens)),
    tools: andOf(all.map((c) => c.tools)),
    vision: andOf(all.map((c) => c.vision)),
    json_mode: andOf(all.map((c) => c.json_mode)),
  };
}

function listRoute(snapshot: Snapshot, r: RouteEntry, orgId: string): ListedModel {
  const targets = r.targets.flatMap((t) => {
    const m = snapshot.models.get(t.model);
    return m && modelVisibleTo(m, orgId) ? [m] : [];
  });
  return {
    id: r.alias,
    object: "model",
    created: Math.floor(r.createdAt.getTime() / 1000),
    owned_by: "switchyard",
    provider: null,
    provider_type: null,
    capabilities: aliasCapabilities(targets),
    targets: targets.map((m) => ({ model: m.name, provider: m.provider.slug, provider_type: m.provider.type })),
  };
}

/** OpenAI's model list: the models and route aliases this key may call, with provider and capabilities. */
export function handleListModels(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, deps: RouteDeps): void {
  const snapshot = deps.getSnapshot();
  if (!snapshot) throw new AppError("upstream_unavailable", "The gateway is starting; its configuration is not loaded yet.");
  const key = authenticate(snapshot, req.headers);
  ctx.key = key;
  const data: ListedModel[] = [];
  for (const m of snapshot.models.values()) {
    if (!modelVisibleTo(m, key.orgId) || !isModelAllowed(key, m.name)) continue;
    data.push({
      id: m.name,
      object: "model",
      created: Math.floor(m.createdAt.getTime() / 1000),
      owned_by: m.provider.slug,
      provider: m.provider.slug,
      provider_type: m.provider.type,
      capabilities: listedCapabilities(m.capabilities),
    });
  }
  for (const r of snapshot.routes.values()) {
    // An alias that clashes with a model name, or whose targets are all gone, is not callable.
    if (snapshot.models.has(r.alias) || !resolveModel(snapshot, r.alias, key.orgId)) continue;
    if (isModelAllowed(key, r.alias)) data.push(listRoute(snapshot, r, key.orgId));
  }
  data.sort((a, b) => a.id.localeCompare(b.id));
  ctx.status = 200;
  sendJson(res, 200, { object: "list", data });
}
