/**
 * Route planning: which models a request may go to, and in which order to try them.
 * Pure functions over the snapshot's entries, the request's features and a health
 * view; no I/O, so every strategy is tested without a network or Redis.
 *
 * Order of decisions: the target must exist for the caller's organisation, (conditional)
 * its `when` must match, and it must be able to take the request (capability filter);
 * the strategy orders what is left; unhealthy targets then move to the end.
 */
import { createHash } from "node:crypto";
import type { ChatCompletionRequest, ModelPricing, RouteCondition, RouteOptions } from "@switchyard/contracts";
import { computeCostNanoUsd } from "@switchyard/pricing";
import type { ModelEntry, RouteEntry, RouteTargetEntry } from "../snapshot";

/** What routing needs to know about one request, computed once before planning. */
export interface RequestFeatures {
  /** Input tokens as the tokenizer estimated them (the caller counts once). */
  estimatedInputTokens: number;
  /** Per choice: max_completion_tokens ?? max_tokens, after the route's default and cap; null = none asked. */
  requestedMaxTokens: number | null;
  hasImages: boolean;
  hasTools: boolean;
  /** response_format json_object or json_schema. */
  jsonMode: boolean;
  stream: boolean;
  /** The key's tags with the request's x-switchyard-tags over them. */
  tags: Readonly<Record<string, string>>;
  /** Request headers, names lowercase, credentials left out. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** body.metadata (string values; numbers and booleans as strings). */
  metadata: Readonly<Record<string, string>>;
  /** x-switchyard-user. */
  endUser: string | null;
}

/** Attribution the proxy already parsed (RequestContext has `tags` and `endUser`) plus the raw headers. */
export interface FeatureContext {
  tags: Readonly<Record<string, string>>;
  endUser: string | null;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * What planning asks of provider health, per target (a target is a public model name).
 * `admit` is called at most once per capable target and plan: the attempt loop should
 * ask again before each attempt if admission has side effects (a half-open probe slot).
 */
export interface HealthView {
  admit(target: string): boolean;
  /** Smoothed time to first byte of successful attempts, in ms; null = not measured yet. */
  latencyEwma(target: string): number | null;
  inflight(target: string): number;
}

/** A candidate with the price the caller charges for it (the org's override applied). */
export interface PlannedTarget {
  model: ModelEntry;
  pricing: ModelPricing | null;
}

export interface TargetPlan {
  /** The whole try-list: the primary first, then the fallbacks in order. Empty: nothing can take the request. */
  candidates: ModelEntry[];
  /** Targets left out and why (human-readable, for the 400 and the log). */
  excluded: { model: string; reason: string }[];
}

/** Headers that carry credentials: never part of the features (conditions cannot match on them, logs never see them). */
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "x-api-key", "cookie"]);

/** Output tokens the cheapest strategy assumes when the request sets no max_tokens. */
export const EXPECTED_OUTPUT_TOKENS = 256;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hasImageParts(body: ChatCompletionRequest): boolean {
  return body.messages.some(
    (m) => Array.isArray(m.content) && m.content.some((p) => p.type === "image_url" || p.type === "image"),
  );
}

function nonEmptyArray(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

/**
 * Tool use: tool definitions (or the legacy `functions`), or a conversation that already
 * holds tool calls or results, which a model without tool support cannot read either.
 */
function usesTools(body: ChatCompletionRequest): boolean {
  if (nonEmptyArray(body.tools) || nonEmptyArray(body.functions)) return true;
  return body.messages.some((m) => m.role === "tool" || m.role === "function" || nonEmptyArray(m.tool_calls) || isRecord(m.function_call));
}

function isJsonMode(body: ChatCompletionRequest): boolean {
  const rf = body.response_format;
  return isRecord(rf) && (rf.type === "json_object" || rf.type === "json_schema");
}

function stringMetadata(v: unknown): Record<string, string> {
  if (!isRecord(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === "string") out[k] = val;
    else if (typeof val === "number" || typeof val === "boolean") out[k] = String(val);
  }
  return out;
}

/**
 * The request's features. Call after applyMaxTokens so the route's default and cap are
 * what the context-window check sees. max_completion_tokens wins over max_tokens when
 * both are set, as in maxOutputTokensFor and the adapters.
 */
export function requestFeatures(body: ChatCompletionRequest, ctx: FeatureContext, estimatedInputTokens: number): RequestFeatures {
  // Only a route condition on headers reads them: copied on first read, not for every request.
  let headers: Record<string, string | string[] | undefined> | undefined;
  return {
    estimatedInputTokens,
    requestedMaxTokens: body.max_completion_tokens ?? body.max_tokens ?? null,
    hasImages: hasImageParts(body),
    hasTools: usesTools(body),
    jsonMode: isJsonMode(body),
    stream: body.stream === true,
    tags: ctx.tags,
    get headers() {
      return (headers ??= withoutCredentials(ctx.headers));
    },
    metadata: stringMetadata(body.metadata),
    endUser: ctx.endUser,
  };
}

/** Request headers with lowercase names, credentials left out. */
function withoutCredentials(raw: FeatureContext["headers"]): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(raw)) {
    const lower = name.toLowerCase();
    if (!SECRET_HEADERS.has(lower)) headers[lower] = value;
  }
  return headers;
}

/**
 * Why a model cannot take this request, or null when it can. A capability that is not
 * known (unset) counts as present: only what is known to be missing filters.
 */
export function capabilityMismatch(model: ModelEntry, f: RequestFeatures): string | null {
  const caps = model.capabilities;
  if (f.stream && caps.streaming === false) return "cannot stream";
  if (f.hasImages && caps.vision === false) return "does not accept images";
  if (f.hasTools && caps.tools === false) return "does not support tools";
  if (f.jsonMode && caps.jsonMode === false) return "does not support JSON mode (response_format)";
  if (f.requestedMaxTokens !== null && caps.maxOutputTokens !== undefined && f.requestedMaxTokens > caps.maxOutputTokens) {
    return `max output ${caps.maxOutputTokens} tokens < ${f.requestedMaxTokens} requested`;
  }
  const needed = f.estimatedInputTokens + (f.requestedMaxTokens ?? 0);
  if (caps.contextWindow !== undefined && caps.contextWindow < needed) {
    return `context window ${caps.contextWindow} < ~${needed} tokens needed`;
  }
  return null;
}

function valueMatches(expected: string | readonly string[], actual: string | undefined): boolean {
  if (actual === undefined) return false;
  return typeof expected === "string" ? expected === actual : expected.includes(actual);
}

function recordMatches(
  expected: Readonly<Record<string, string | readonly string[]>>,
  lookup: (name: string) => string | readonly string[] | undefined,
): boolean {
  return Object.entries(expected).every(([name, want]) => {
    const got = lookup(name);
    // A header sent several times matches when any of its values does.
    return Array.isArray(got) ? got.some((g: string) => valueMatches(want, g)) : valueMatches(want, got as string | undefined);
  });
}

/**
 * Whether a conditional target applies: every field given must match (AND), each field
 * may list alternatives (OR). Values compare exactly; header names case-insensitively.
 * An empty condition matches every request.
 */
export function conditionMatches(when: RouteCondition, f: RequestFeatures): boolean {
  if (when.tags && !recordMatches(when.tags, (k) => f.tags[k])) return false;
  if (when.headers && !recordMatches(when.headers, (k) => f.headers[k.toLowerCase()])) return false;
  if (when.metadata && !recordMatches(when.metadata, (k) => f.metadata[k])) return false;
  if (when.user !== undefined && !valueMatches(when.user, f.endUser ?? undefined)) return false;
  return true;
}

/**
 * The route's max_tokens default and cap. No max_tokens/max_completion_tokens: `max_tokens`
 * is set to the default; a value above the cap is lowered to it (in whichever field the
 * client used, both when both are set). A default above the cap is capped too. The body
 * is copied when changed, never mutated.
 */
export function applyMaxTokens(body: ChatCompletionRequest, limits: RouteOptions["maxTokens"]): { body: ChatCompletionRequest; changed: boolean } {
  if (!limits) return { body, changed: false };
  const { default: def, cap } = limits;
  const hasMax = body.max_tokens !== undefined && body.max_tokens !== null;
  const hasCompletion = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null;
  if (!hasMax && !hasCompletion) {
    if (def === undefined) return { body, changed: false };
    return { body: { ...body, max_tokens: cap !== undefined ? Math.min(def, cap) : def }, changed: true };
  }
  if (cap === undefined) return { body, changed: false };
  const next: ChatCompletionRequest = { ...body };
  let changed = false;
  if (hasMax && body.max_tokens! > cap) {
    next.max_tokens = cap;
    changed = true;
  }
  if (hasCompletion && body.max_completion_tokens! > cap) {
    next.max_completion_tokens = cap;
    changed = true;
  }
  return changed ? { body: next, changed } : { body, changed: false };
}

interface Eligible {
  target: RouteTargetEntry;
  model: ModelEntry;
}

/** Target `i` drawn with probability weight / total; `u` in [0, 1). */
function drawByWeight(items: readonly Eligible[], u: number): number {
  const total = items.reduce((s, e) => s + e.target.weight, 0);
  let point = u * total;
  for (let i = 0; i < items.length; i++) {
    point -= items[i]!.target.weight;
    if (point < 0) return i;
  }
  return items.length - 1;
}

/** A uniform number in (0, 1) from a string: the first 48 bits of its SHA-256. */
function hashUnit(s: string): number {
  const h = createHash("sha256").update(s).digest();
  return (h.readUIntBE(0, 6) + 0.5) / 2 ** 48;
}

/**
 * Sticky pick by weighted rendezvous hashing: each target's score is an exponential draw
 * with rate = weight, seeded by (route, user, target); the lowest wins, which gives each
 * target its weight's share of users. A user keeps their target as long as it stays in
 * the set: adding or removing another target moves only the users that target wins or loses.
 */
function stickyIndex(alias: string, endUser: string, items: readonly Eligible[]): number {
  let best = 0;
  let bestScore = Infinity;
  items.forEach((e, i) => {
    const score = -Math.log(hashUnit(`${alias}\u0000${endUser}\u0000${e.model.name}`)) / e.target.weight;
    if (score < bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}

/** Stable sort by weight, heaviest first. */
const byWeightDesc = (items: readonly Eligible[]) => [...items].sort((a, b) => b.target.weight - a.target.weight);

function orderWeighted(route: RouteEntry, items: readonly Eligible[], f: RequestFeatures, random: () => number): Eligible[] {
  if (items.length === 0) return [];
  const primary = route.options.sticky && f.endUser !== null ? stickyIndex(route.alias, f.endUser, items) : drawByWeight(items, random());
  const first = items[primary]!;
  return [first, ...byWeightDesc(items.filter((_, i) => i !== primary))];
}

/** Cheapest for this request: estimated input and expected output priced exactly; unpriced targets last. */
function orderCheapest(items: readonly Eligible[], f: RequestFeatures, pricing: (m: ModelEntry) => ModelPricing | null): Eligible[] {
  const usage = {
    inputTokens: f.estimatedInputTokens,
    outputTokens: f.requestedMaxTokens ?? EXPECTED_OUTPUT_TOKENS,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
  };
  const costed = items.map((e, i) => {
    const p = pricing(e.model);
    return { e, i, cost: p ? computeCostNanoUsd(usage, p) : null };
  });
  costed.sort((a, b) => {
    if (a.cost === null || b.cost === null) return a.cost === b.cost ? a.i - b.i : a.cost === null ? 1 : -1;
    return a.cost < b.cost ? -1 : a.cost > b.cost ? 1 : a.i - b.i;
  });
  return costed.map((c) => c.e);
}

/**
 * Fastest: power of two choices among the admitted targets: two drawn at random, the one
 * with the lower EWMA × (in flight + 1) leads (load-aware, without herding every replica
 * onto the single fastest). Unmeasured targets count as fastest so they get measured. The
 * rest follow by ascending EWMA (unmeasured first).
 */
function orderFastest(items: readonly Eligible[], health: HealthView, admitted: (m: ModelEntry) => boolean, random: () => number): Eligible[] {
  const ewma = (e: Eligible) => health.latencyEwma(e.model.name) ?? 0;
  const byEwma = (list: readonly Eligible[]) => [...list].sort((a, b) => ewma(a) - ewma(b));
  const healthy = items.filter((e) => admitted(e.model));
  if (healthy.length === 0) return byEwma(items);
  let lead: Eligible;
  if (healthy.length === 1) lead = healthy[0]!;
  else {
    const i = Math.min(Math.floor(random() * healthy.length), healthy.length - 1);
    let j = Math.min(Math.floor(random() * (healthy.length - 1)), healthy.length - 2);
    if (j >= i) j++;
    const a = healthy[i]!;
    const b = healthy[j]!;
    const load = (e: Eligible) => ewma(e) * (health.inflight(e.model.name) + 1);
    lead = load(b) < load(a) ? b : a;
  }
  return [lead, ...byEwma(items.filter((e) => e !== lead))];
}

/**
 * The try-list for a route alias. `lookup` returns a model only when it exists for the
 * caller's organisation; `pricing` is the caller's price (org override included);
 * `random` is injectable for tests. Strategies:
 * - fallback: listed order.
 * - weighted: the primary drawn by weight (options.sticky with an end user: the same user
 *   gets the same target while it stays in the set); the rest by descending weight.
 * - cheapest: ascending estimated cost of this request; unpriced last.
 * - fastest: power of two choices on latency (see orderFastest).
 * - conditional: targets whose `when` matches, in listed order, then the targets without
 *   `when`; nothing applies → no candidates.
 * Unhealthy targets (admit false) then move to the end in their order; they are never
 * dropped, so a route whose targets are all unhealthy still tries them. A model listed
 * twice is tried once (at its first place).
 */
export function planRoute(
  route: RouteEntry,
  lookup: (name: string) => ModelEntry | null,
  features: RequestFeatures,
  health: HealthView,
  pricing: (m: ModelEntry) => ModelPricing | null,
  random: () => number = Math.random,
): TargetPlan {
  const excluded: TargetPlan["excluded"] = [];
  const matched: Eligible[] = [];
  const defaults: Eligible[] = [];
  for (const target of route.targets) {
    const model = lookup(target.model);
    if (!model) {
      excluded.push({ model: target.model, reason: "no such model" });
      continue;
    }
    if (route.strategy === "conditional" && target.when !== null && !conditionMatches(target.when, features)) {
      excluded.push({ model: target.model, reason: "its condition does not match the request" });
      continue;
    }
    const mismatch = capabilityMismatch(model, features);
    if (mismatch !== null) {
      excluded.push({ model: target.model, reason: mismatch });
      continue;
    }
    (route.strategy === "conditional" && target.when === null ? defaults : matched).push({ target, model });
  }
  const eligible = [...matched, ...defaults];

  // admit() may have side effects (probe slots, ramp draws): ask once per model.
  const admittedCache = new Map<string, boolean>();
  const admitted = (m: ModelEntry): boolean => {
    let ok = admittedCache.get(m.name);
    if (ok === undefined) {
      ok = health.admit(m.name);
      admittedCache.set(m.name, ok);
    }
    return ok;
  };

  let ordered: Eligible[];
  switch (route.strategy) {
    case "weighted":
      ordered = orderWeighted(route, eligible, features, random);
      break;
    case "cheapest":
      ordered = orderCheapest(eligible, features, pricing);
      break;
    case "fastest":
      ordered = orderFastest(eligible, health, admitted, random);
      break;
    case "fallback":
    case "conditional":
      ordered = eligible;
      break;
  }

  const seen = new Set<string>();
  const unique = ordered.map((e) => e.model).filter((m) => !seen.has(m.name) && (seen.add(m.name), true));
  const healthy = unique.filter((m) => admitted(m));
  const unhealthy = unique.filter((m) => !admitted(m));
  return { candidates: [...healthy, ...unhealthy], excluded };
}

/**
 * A plain model name: a one-candidate plan, or none with the reason when the model cannot
 * take the request (the caller answers 400 with it; see noCandidatesMessage).
 */
export function planSingle(model: ModelEntry, features: RequestFeatures): TargetPlan {
  const mismatch = capabilityMismatch(model, features);
  return mismatch === null ? { candidates: [model], excluded: [] } : { candidates: [], excluded: [{ model: model.name, reason: mismatch }] };
}

/** The client-facing message for a plan without candidates: which targets were left out and why. */
export function noCandidatesMessage(requested: string, plan: TargetPlan): string {
  const why = plan.excluded.map((e) => `${e.model}: ${e.reason}`).join("; ");
  return `No model behind '${requested}' can take this request${why ? ` (${why})` : ""}.`;
}
