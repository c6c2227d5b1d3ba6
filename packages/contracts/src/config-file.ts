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
  /** Whether the model can stream (false: a streamed request skips it). */
  streaming: z.boolean().optional(),
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
export type RouteStrategy = (typeof routeStrategies)[number];

/** One value or any of several (a condition matches when the request's value is one of them). */
const matchValueSchema = z.union([z.string(), z.array(z.string()).min(1)]);

/**
 * When a conditional route's target applies: every field given must match (AND); a
 * field's value may list alternatives (OR). Tags are the request's tags (key tags plus
 * `x-switchyard-tags`), headers the request's HTTP headers (names lowercase),
 * metadata the body's `metadata` object, user the `x-switchyard-user` header.
 */
export const routeConditionSchema = z.strictObject({
  tags: z.record(z.string(), matchValueSchema).optional(),
  headers: z.record(z.string(), matchValueSchema).optional(),
  metadata: z.record(z.string(), matchValueSchema).optional(),
  user: matchValueSchema.optional(),
});
export type RouteCondition = z.infer<typeof routeConditionSchema>;

export const configRouteTargetSchema = z.strictObject({
  model: z.string().min(1),
  /** weighted: relative share of traffic (default 1). */
  weight: z.number().positive().optional(),
  /** conditional: the target applies only when this matches; targets without `when` are the default. */
  when: routeConditionSchema.optional(),
});
export type RouteTarget = z.infer<typeof configRouteTargetSchema>;

/** Semantic cache: reuse the answer of a similar earlier prompt (embedding similarity). */
export const routeSemanticCacheSchema = z.strictObject({
  /** A model name served by this gateway that answers /v1/embeddings. */
  embeddingModel: z.string().min(1),
  /** Cosine similarity at or above which a cached answer is reused. */
  threshold: z.number().gt(0).max(1).default(0.95),
  /**
   * Only requests at or below this temperature are answered from (or stored in) the
   * semantic cache; a request without `temperature` counts as 1 (the providers' default).
   */
  maxTemperature: z.number().min(0).max(2).default(0.3),
});
export type RouteSemanticCache = z.infer<typeof routeSemanticCacheSchema>;

export const routeCacheSchema = z.strictObject({
  /** How long an answer is reused. */
  ttlSeconds: z.number().int().positive().max(30 * 86_400).default(3600),
  /** Whose requests share answers: the whole organisation (default) or each team apart. */
  scope: z.enum(["org", "team"]).default("org"),
  semantic: routeSemanticCacheSchema.optional(),
});
export type RouteCache = z.infer<typeof routeCacheSchema>;

export const routeRetrySchema = z.strictObject({
  /** Upstream attempts at most, over all targets (default 4). */
  maxAttempts: z.number().int().min(1).max(10).optional(),
  /** Bound on all attempts and waits, in ms, until the answer starts (default: the proxy's PROXY_REQUEST_DEADLINE_MS). */
  deadlineMs: z.number().int().min(100).max(600_000).optional(),
  /** A non-streamed answer cut by `finish_reason: length` with no content is retried on a target with a larger output limit. */
  onEmptyLength: z.boolean().optional(),
});
export type RouteRetry = z.infer<typeof routeRetrySchema>;

/** Per-route options besides strategy and targets (stored in routes.options). */
export const routeOptionsSchema = z.strictObject({
  /** weighted: the same end user (x-switchyard-user) always gets the same target. */
  sticky: z.boolean().optional(),
  /** max_tokens a request gets when it sets none, and the most it may ask for (larger values are lowered). */
  maxTokens: z.strictObject({ default: z.number().int().positive().optional(), cap: z.number().int().positive().optional() }).optional(),
  cache: routeCacheSchema.optional(),
  retry: routeRetrySchema.optional(),
});
export type RouteOptions = z.infer<typeof routeOptionsSchema>;

export const configRouteSchema = z.strictObject({
  alias: z.string().min(1).max(128),
  strategy: z.enum(routeStrategies).default("fallback"),
  targets: z.array(configRouteTargetSchema).min(1, "a route needs at least one target"),
  /** Refuse (400) parameters a target cannot honour instead of dropping them. */
  strict: z.boolean().default(false),
  ...routeOptionsSchema.shape,
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
        if (t.weight !== undefined && r.strategy !== "weighted")
          ctx.addIssue({ code: "custom", path: ["routes", i, "targets", j, "weight"], message: `weight only applies to strategy "weighted"` });
        if (t.when !== undefined && r.strategy !== "conditional")
          ctx.addIssue({ code: "custom", path: ["routes", i, "targets", j, "when"], message: `when only applies to strategy "conditional"` });
      });
      const embeddingModel = r.cache?.semantic?.embeddingModel;
      if (embeddingModel !== undefined && !modelNames.has(embeddingModel))
        ctx.addIssue({ code: "custom", path: ["routes", i, "cache", "semantic", "embeddingModel"], message: `unknown model "${embeddingModel}" (declare it under models)` });
      if (r.maxTokens?.default !== undefined && r.maxTokens.cap !== undefined && r.maxTokens.default > r.maxTokens.cap)
        ctx.addIssue({ code: "custom", path: ["routes", i, "maxTokens", "default"], message: "the default must not exceed the cap" });
    });
  });
export type SwitchyardConfig = z.infer<typeof switchyardConfigSchema>;
