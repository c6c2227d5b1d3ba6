import { z } from "zod";

export const providerTypes = [
  "openai",
  "azure",
  "anthropic",
  "gemini",
  "mistral",
  "cohere",
  "openai-compatible",
] as const;
export type ProviderType = (typeof providerTypes)[number];

/** A decimal number of USD per million tokens, written as a string so no float touches it. */
export const decimalPriceSchema = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .pipe(z.string().regex(/^\d+(\.\d{1,12})?$/, "must be a non-negative decimal such as \"0.15\""));

export const modelPricingSchema = z.strictObject({
  inputPerMTok: decimalPriceSchema,
  outputPerMTok: decimalPriceSchema,
  cachedInputPerMTok: decimalPriceSchema.optional(),
  cacheWritePerMTok: decimalPriceSchema.optional(),
  reasoningPerMTok: decimalPriceSchema.optional(),
  /** USD per image, for models that bill images by the piece rather than as tokens. */
  perImage: decimalPriceSchema.optional(),
  /** Percent off every line for Batch API requests ("50" = half price). */
  batchDiscountPercent: decimalPriceSchema.refine((v) => Number(v) <= 100, "must be at most 100").optional(),
});
export type ModelPricing = z.infer<typeof modelPricingSchema>;

export const modelCapabilitiesSchema = z.strictObject({
  contextWindow: z.number().int().positive().optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  tools: z.boolean().optional(),
  vision: z.boolean().optional(),
  jsonMode: z.boolean().optional(),
});
export type ModelCapabilities = z.infer<typeof modelCapabilitiesSchema>;

/** Provider ids (slugs) and model provider references. */
export const providerSlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be lowercase letters, digits, '.', '_' or '-' (max 63)");

/** The label the single `apiKey` of a provider gets (and a key made without one). */
export const DEFAULT_PROVIDER_KEY_LABEL = "default";

export const providerKeyLabelSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be letters, digits, '.', '_' or '-' (max 63)");

/** One account's key: "env:NAME" reads the proxy's environment; a literal is stored encrypted. */
export const configProviderKeySchema = z.strictObject({
  label: providerKeyLabelSchema,
  apiKey: z.string().min(1),
});
export type ConfigProviderKey = z.infer<typeof configProviderKeySchema>;

export const configProviderSchema = z
  .strictObject({
    id: providerSlugSchema,
    type: z.enum(providerTypes),
    baseUrl: z.url({ message: "must be an absolute http(s) URL" }).optional(),
    /** One key, labelled "default". "env:NAME" reads the proxy's environment at load time; a literal is stored encrypted. */
    apiKey: z.string().min(1).optional(),
    /** Several keys (accounts), used in turn by the proxy. Not together with `apiKey`. */
    apiKeys: z.array(configProviderKeySchema).min(1, "list at least one key, or leave apiKeys out").optional(),
    /** Azure: api-version query parameter. */
    apiVersion: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.apiKey !== undefined && p.apiKeys !== undefined)
      ctx.addIssue({ code: "custom", path: ["apiKeys"], message: "give either apiKey or apiKeys, not both" });
    const labels = new Set<string>();
    p.apiKeys?.forEach((k, i) => {
      if (labels.has(k.label)) ctx.addIssue({ code: "custom", path: ["apiKeys", i, "label"], message: `duplicate key label "${k.label}"` });
      labels.add(k.label);
    });
  });
export type ConfigProvider = z.infer<typeof configProviderSchema>;

/**
 * What may be shown of a provider key: its last 4 characters. Keys shorter than 8
 * characters show nothing (4 characters would be half of them).
 */
export function providerKeyLast4(clearKey: string): string | null {
  return clearKey.length >= 8 ? clearKey.slice(-4) : null;
}

/** A provider's keys as declared: `apiKeys`, or `apiKey` as the one key labelled "default". */
export function configProviderKeys(p: ConfigProvider): ConfigProviderKey[] {
  if (p.apiKeys) return p.apiKeys;
  return p.apiKey === undefined ? [] : [{ label: DEFAULT_PROVIDER_KEY_LABEL, apiKey: p.apiKey }];
}

export const configModelSchema = z.strictObject({
  name: z.string().min(1).max(128),
  provider: providerSlugSchema,
  upstreamModel: z.string().min(1).optional(),
  pricing: modelPricingSchema.optional(),
  ...modelCapabilitiesSchema.shape,
});
export type ConfigModel = z.infer<typeof configModelSchema>;

export const routeStrategies = ["fallback", "weighted", "cheapest", "fastest", "conditional"] as const;
export const configRouteTargetSchema = z.strictObject({
  model: z.string().min(1),
  weight: z.number().positive().optional(),
  when: z.record(z.string(), z.unknown()).optional(),
});
export const configRouteSchema = z.strictObject({
  alias: z.string().min(1).max(128),
  strategy: z.enum(routeStrategies).default("fallback"),
  targets: z.array(configRouteTargetSchema).min(1, "a route needs at least one target"),
  /** Refuse (400) parameters a target cannot honour instead of dropping them. */
  strict: z.boolean().default(false),
});
export type ConfigRoute = z.infer<typeof configRouteSchema>;

/** `switchyard.yaml`: providers, models and routes declared as code. */
export const switchyardConfigSchema = z
  .strictObject({
    providers: z.array(configProviderSchema).default([]),
    models: z.array(configModelSchema).default([]),
    routes: z.array(configRouteSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const providerIds = new Set<string>();
    cfg.providers.forEach((p, i) => {
      if (providerIds.has(p.id)) ctx.addIssue({ code: "custom", path: ["providers", i, "id"], message: `duplicate provider id "${p.id}"` });
      providerIds.add(p.id);
    });
    const modelNames = new Set<string>();
    cfg.models.forEach((m, i) => {
      if (modelNames.has(m.name)) ctx.addIssue({ code: "custom", path: ["models", i, "name"], message: `duplicate model name "${m.name}"` });
      modelNames.add(m.name);
      if (!providerIds.has(m.provider))
        ctx.addIssue({ code: "custom", path: ["models", i, "provider"], message: `unknown provider "${m.provider}" (declare it under providers)` });
    });
    cfg.routes.forEach((r, i) => {
      if (modelNames.has(r.alias))
        ctx.addIssue({ code: "custom", path: ["routes", i, "alias"], message: `route alias "${r.alias}" clashes with a model name` });
      r.targets.forEach((t, j) => {
        if (!modelNames.has(t.model))
          ctx.addIssue({ code: "custom", path: ["routes", i, "targets", j, "model"], message: `unknown model "${t.model}" (declare it under models)` });
      });
    });
  });
export type SwitchyardConfig = z.infer<typeof switchyardConfigSchema>;
