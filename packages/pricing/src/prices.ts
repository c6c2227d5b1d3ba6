import type { ModelPricing } from "@switchyard/contracts";
import { PRICE_TABLE, type PriceEntry, type PriceProvider } from "./registry";

export { PRICE_TABLE, type PriceEntry, type PriceProvider } from "./registry";

/** One row of the price registry as a dashboard shows it. */
export interface PriceRegistryRow {
  provider: PriceProvider;
  model: string;
  prices: ModelPricing;
  effectiveFrom: string;
  source: string;
  /** True for the entry in force now; false for a past price kept for history. */
  current: boolean;
}

const byModel = new Map<string, PriceEntry[]>();
for (const e of PRICE_TABLE) {
  const list = byModel.get(e.model) ?? [];
  list.push(e);
  byModel.set(e.model, list);
}
// Newest first, so the first entry not in the future is the one in force.
for (const list of byModel.values()) list.sort((a, b) => Date.parse(b.effectiveFrom) - Date.parse(a.effectiveFrom));

/**
 * Snapshot and alias suffixes that name a dated build of a family: "-2024-08-06",
 * "-20241022", "-latest", "-001". Each is tried in turn until a priced name is found.
 */
const SNAPSHOT_SUFFIXES = [/-\d{4}-\d{2}-\d{2}$/, /-\d{8}$/, /-latest$/, /-\d{3}$/];

/** The names to look a model up under: itself, then its family (dated suffixes removed). */
export function priceLookupNames(upstreamModel: string): string[] {
  const names: string[] = [];
  // "models/gemini-…" (Gemini's resource form) prices as "gemini-…".
  let name = upstreamModel.trim().replace(/^models\//, "");
  names.push(name);
  for (;;) {
    const next = SNAPSHOT_SUFFIXES.reduce((n, re) => n.replace(re, ""), name);
    if (next === name || next === "") break;
    names.push(next);
    name = next;
  }
  return names;
}

function toTime(at: Date | string): number {
  const t = typeof at === "string" ? Date.parse(at) : at.getTime();
  if (Number.isNaN(t)) throw new Error(`invalid date "${String(at)}"`);
  return t;
}

/**
 * The registry entry in force for a model at a moment (default now): the newest entry
 * whose effectiveFrom is not after `at`, under the model's own name or else its family's.
 * Null when the model has no price then (unpriced, never $0).
 */
export function priceAt(upstreamModel: string, at: Date | string = new Date()): PriceEntry | null {
  const t = toTime(at);
  for (const name of priceLookupNames(upstreamModel)) {
    const list = byModel.get(name);
    if (!list) continue;
    return list.find((e) => Date.parse(e.effectiveFrom) <= t) ?? null;
  }
  return null;
}

/** The ModelPricing part of an entry (what computeCostNanoUsd takes). */
export function pricingOf(entry: PriceEntry): ModelPricing {
  const { provider: _provider, model: _model, effectiveFrom: _from, source: _source, ...pricing } = entry;
  return pricing;
}

/**
 * The price of a model, in order of precedence: the organisation's PriceOverride, the
 * model's own configured pricing, the registry price in force at `at` (default now; dated
 * snapshot names fall back to the family). Null: the request is recorded as unpriced,
 * never as $0.
 */
export function resolvePricing(
  upstreamModel: string,
  configured?: ModelPricing | null,
  override?: ModelPricing | null,
  at: Date | string = new Date(),
): ModelPricing | null {
  if (override) return override;
  if (configured) return configured;
  const entry = priceAt(upstreamModel, at);
  return entry ? pricingOf(entry) : null;
}

/** Every registry entry (history included), by provider, model and newest first. */
export function listPriceRegistry(now: Date | string = new Date()): PriceRegistryRow[] {
  const t = toTime(now);
  const rows: PriceRegistryRow[] = [];
  for (const [model, list] of byModel) {
    const inForce = list.find((e) => Date.parse(e.effectiveFrom) <= t);
    for (const e of list) {
      rows.push({ provider: e.provider, model, prices: pricingOf(e), effectiveFrom: e.effectiveFrom, source: e.source, current: e === inForce });
    }
  }
  return rows.sort(
    (a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model) || Date.parse(b.effectiveFrom) - Date.parse(a.effectiveFrom),
  );
}
