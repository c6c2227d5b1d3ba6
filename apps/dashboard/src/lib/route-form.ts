import type { RouteCondition, RouteOptions, RouteStrategy, RouteTarget } from "@switchyard/contracts";

/**
 * The route form's text fields and the route settings they stand for. Conditions are
 * written `k=v` pairs separated by commas, alternatives of one value by `|`
 * ("tier=gold|platinum, region=eu"); the user condition is `|`-separated ids.
 */

type MatchValue = string | string[];

/** One `|`-separated value: a string, or the list of alternatives. */
function matchValueOf(text: string): MatchValue | null {
  const parts = text
    .split("|")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0) return null;
  return parts.length === 1 ? (parts[0] as string) : parts;
}

function matchValueText(v: MatchValue): string {
  return typeof v === "string" ? v : v.join("|");
}

/** "a=1, b=x|y" → pairs { a: "1", b: ["x", "y"] }; "" → pairs null; an error for a pair without "=" or value. */
export function parsePairs(text: string): { pairs: Record<string, MatchValue> | null } | { error: string } {
  const out: Record<string, MatchValue> = {};
  const pairs = text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (pairs.length === 0) return { pairs: null };
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? "" : pair.slice(0, eq).trim();
    const value = eq < 0 ? null : matchValueOf(pair.slice(eq + 1));
    if (key === "" || value === null) return { error: `"${pair}" is not k=v.` };
    out[key] = value;
  }
  return { pairs: out };
}

export function pairsText(pairs: Record<string, MatchValue> | undefined): string {
  return Object.entries(pairs ?? {})
    .map(([k, v]) => `${k}=${matchValueText(v)}`)
    .join(", ");
}

export interface TargetDraft {
  model: string;
  weight: string;
  tags: string;
  headers: string;
  metadata: string;
  user: string;
}

export interface RouteDraft {
  alias: string;
  strategy: RouteStrategy;
  strict: boolean;
  targets: TargetDraft[];
  sticky: boolean;
  maxTokensDefault: string;
  maxTokensCap: string;
  cache: boolean;
  cacheTtlSeconds: string;
  cacheScope: "org" | "team";
  semantic: boolean;
  embeddingModel: string;
  threshold: string;
  maxTemperature: string;
  retryMaxAttempts: string;
  retryDeadlineMs: string;
  retryOnEmptyLength: boolean;
}

export function emptyTarget(model = ""): TargetDraft {
  return { model, weight: "1", tags: "", headers: "", metadata: "", user: "" };
}

export function emptyRouteDraft(firstModel = ""): RouteDraft {
  return {
    alias: "",
    strategy: "fallback",
    strict: false,
    targets: [emptyTarget(firstModel)],
    sticky: false,
    maxTokensDefault: "",
    maxTokensCap: "",
    cache: false,
    cacheTtlSeconds: "3600",
    cacheScope: "org",
    semantic: false,
    embeddingModel: "",
    threshold: "0.95",
    maxTemperature: "0.3",
    retryMaxAttempts: "",
    retryDeadlineMs: "",
    retryOnEmptyLength: false,
  };
}

/** A stored route → the form's fields (for editing). */
export function routeDraftOf(r: {
  alias: string;
  strategy: string;
  strict: boolean;
  targets: readonly RouteTarget[];
  options: RouteOptions;
}): RouteDraft {
  const o = r.options;
  const base = emptyRouteDraft();
  const num = (n: number | undefined, fallback = "") => (n === undefined ? fallback : String(n));
  return {
    alias: r.alias,
    strategy: (["fallback", "weighted", "cheapest", "fastest", "conditional"] as const).find((s) => s === r.strategy) ?? "fallback",
    strict: r.strict,
    targets: r.targets.map((t) => ({
      model: t.model,
      weight: num(t.weight, "1"),
      tags: pairsText(t.when?.tags),
      headers: pairsText(t.when?.headers),
      metadata: pairsText(t.when?.metadata),
      user: t.when?.user === undefined ? "" : matchValueText(t.when.user),
    })),
    sticky: o.sticky ?? false,
    maxTokensDefault: num(o.maxTokens?.default),
    maxTokensCap: num(o.maxTokens?.cap),
    cache: o.cache !== undefined,
    cacheTtlSeconds: num(o.cache?.ttlSeconds, base.cacheTtlSeconds),
    cacheScope: o.cache?.scope ?? "org",
    semantic: o.cache?.semantic !== undefined,
    embeddingModel: o.cache?.semantic?.embeddingModel ?? "",
    threshold: num(o.cache?.semantic?.threshold, base.threshold),
    maxTemperature: num(o.cache?.semantic?.maxTemperature, base.maxTemperature),
    retryMaxAttempts: num(o.retry?.maxAttempts),
    retryDeadlineMs: num(o.retry?.deadlineMs),
    retryOnEmptyLength: o.retry?.onEmptyLength ?? false,
  };
}

/** "" → undefined; anything else a number (NaN for junk, which the server refuses with its message). */
function optionalNumber(text: string): number | undefined {
  const t = text.trim();
  return t === "" ? undefined : Number(t);
}

export interface RouteSettingsInput {
  alias: string;
  strategy: RouteStrategy;
  strict: boolean;
  targets: RouteTarget[];
  options: RouteOptions;
}

/**
 * The form's fields → the settings routes.create/update take, or the first error in a
 * condition. Only what the strategy uses is sent (weights for weighted, conditions for
 * conditional, sticky for weighted), so switching strategy never leaves stray fields.
 */
export function routeSettingsOf(d: RouteDraft): RouteSettingsInput | { error: string } {
  const targets: RouteTarget[] = [];
  for (const [i, t] of d.targets.entries()) {
    const target: RouteTarget = { model: t.model };
    if (d.strategy === "weighted") target.weight = optionalNumber(t.weight) ?? 1;
    if (d.strategy === "conditional") {
      const when: RouteCondition = {};
      for (const field of ["tags", "headers", "metadata"] as const) {
        const parsed = parsePairs(t[field]);
        if ("error" in parsed) return { error: `Target ${i + 1} ${field}: ${parsed.error}` };
        if (parsed.pairs) when[field] = parsed.pairs;
      }
      const user = matchValueOf(t.user);
      if (user !== null) when.user = user;
      if (Object.keys(when).length > 0) target.when = when;
    }
    targets.push(target);
  }
  const options: RouteOptions = {};
  if (d.strategy === "weighted" && d.sticky) options.sticky = true;
  const def = optionalNumber(d.maxTokensDefault);
  const cap = optionalNumber(d.maxTokensCap);
  if (def !== undefined || cap !== undefined)
    options.maxTokens = { ...(def === undefined ? {} : { default: def }), ...(cap === undefined ? {} : { cap }) };
  if (d.cache) {
    options.cache = { ttlSeconds: optionalNumber(d.cacheTtlSeconds) ?? 3600, scope: d.cacheScope };
    if (d.semantic)
      options.cache.semantic = {
        embeddingModel: d.embeddingModel,
        threshold: optionalNumber(d.threshold) ?? 0.95,
        maxTemperature: optionalNumber(d.maxTemperature) ?? 0.3,
      };
  }
  const attempts = optionalNumber(d.retryMaxAttempts);
  const deadline = optionalNumber(d.retryDeadlineMs);
  if (attempts !== undefined || deadline !== undefined || d.retryOnEmptyLength)
    options.retry = {
      ...(attempts === undefined ? {} : { maxAttempts: attempts }),
      ...(deadline === undefined ? {} : { deadlineMs: deadline }),
      ...(d.retryOnEmptyLength ? { onEmptyLength: true } : {}),
    };
  return { alias: d.alias.trim(), strategy: d.strategy, strict: d.strict, targets, options };
}

/** A condition in one line for the routes table: "tags tier=gold|platinum; user u-1". */
export function conditionText(when: RouteCondition | undefined): string {
  if (!when) return "";
  const parts: string[] = [];
  for (const field of ["tags", "headers", "metadata"] as const)
    if (when[field] && Object.keys(when[field]).length > 0) parts.push(`${field} ${pairsText(when[field])}`);
  if (when.user !== undefined) parts.push(`user ${matchValueText(when.user)}`);
  return parts.join("; ");
}
