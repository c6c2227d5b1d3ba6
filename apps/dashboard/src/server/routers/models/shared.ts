import { z } from "zod";
import { modelCapabilitiesSchema, type ModelCapabilities } from "@switchyard/contracts";
import type { Prisma } from "@switchyard/db";

/** The capability fields the registry page shows, in column order. */
export const CAPABILITY_FIELDS = [
  "contextWindow",
  "maxOutputTokens",
  "tools",
  "vision",
  "jsonMode",
  "streaming",
] as const satisfies readonly (keyof ModelCapabilities)[];

/** Stored capabilities JSON; anything not a valid ModelCapabilities reads as none (as the proxy does). */
export function storedCapabilities(json: Prisma.JsonValue): ModelCapabilities {
  const parsed = modelCapabilitiesSchema.safeParse(json);
  return parsed.success ? parsed.data : {};
}

/**
 * Capability overrides as the form sends them: every field, null meaning "use the
 * registry's value" (the override is removed).
 */
export const capabilityOverridesSchema = z.object({
  contextWindow: z.number().int().positive().max(100_000_000).nullable(),
  maxOutputTokens: z.number().int().positive().max(100_000_000).nullable(),
  tools: z.boolean().nullable(),
  vision: z.boolean().nullable(),
  jsonMode: z.boolean().nullable(),
  streaming: z.boolean().nullable(),
});

/** The overrides to store: only the fields set. */
export function capabilitiesToStore(o: z.infer<typeof capabilityOverridesSchema>): ModelCapabilities {
  const out: ModelCapabilities = {};
  for (const f of CAPABILITY_FIELDS) {
    const v = o[f];
    if (v !== null) Object.assign(out, { [f]: v });
  }
  return modelCapabilitiesSchema.parse(out);
}
