import type { ModelCapabilities } from "@switchyard/contracts";
import { priceLookupNames } from "./prices";

/**
 * The capability registry: what each known upstream model can take, as data beside the
 * price table (context window, max output tokens, tools, vision, JSON mode, streaming).
 * Only values read on the provider's own model pages; a model not listed has unknown
 * capabilities, which routing does not filter on.
 */
export interface CapabilityEntry extends ModelCapabilities {
  model: string;
  source: string;
}

export const CAPABILITY_TABLE: readonly CapabilityEntry[] = [];

const byModel = new Map<string, CapabilityEntry>(CAPABILITY_TABLE.map((e) => [e.model, e]));

/** The registry's capabilities of an upstream model (dated snapshot names fall back to the family); null when unknown. */
export function capabilitiesAt(upstreamModel: string): ModelCapabilities | null {
  for (const name of priceLookupNames(upstreamModel)) {
    const e = byModel.get(name);
    if (e) {
      const { model: _model, source: _source, ...caps } = e;
      return caps;
    }
  }
  return null;
}

/** A model's capabilities: the configured (dashboard or config file) values over the registry's. */
export function resolveCapabilities(upstreamModel: string, configured: ModelCapabilities = {}): ModelCapabilities {
  const defined = Object.fromEntries(Object.entries(configured).filter(([, v]) => v !== undefined)) as ModelCapabilities;
  return { ...(capabilitiesAt(upstreamModel) ?? {}), ...defined };
}
