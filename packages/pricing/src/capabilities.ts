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

const OPENAI_MODELS = "https://developers.openai.com/api/docs/models";
const ANTHROPIC_MODELS = "https://platform.claude.com/docs/en/models";
const GEMINI_MODELS = "https://ai.google.dev/gemini-api/docs/models";

/*
 * How the pages' words map to fields: OpenAI's "Image: input" and Gemini's "Image" input
 * → vision; "Function calling: supported" → tools; "Structured outputs: supported" →
 * jsonMode; OpenAI's "Streaming: supported" → streaming. Anthropic states sizes in K
 * (200K = 200,000 tokens). A field a page does not state is left out.
 */
export const CAPABILITY_TABLE: readonly CapabilityEntry[] = [
  // OpenAI
  {
    model: "gpt-4.1-nano",
    source: `${OPENAI_MODELS}/gpt-4.1-nano`,
    contextWindow: 1_047_576,
    maxOutputTokens: 32_768,
    tools: true,
    vision: true,
    jsonMode: true,
    streaming: true,
  },
  {
    model: "gpt-5-nano",
    source: `${OPENAI_MODELS}/gpt-5-nano`,
    contextWindow: 400_000,
    maxOutputTokens: 128_000,
    tools: true,
    vision: true,
    jsonMode: true,
    streaming: true,
  },

  // Anthropic (tools and vision: "all current models support … vision, and tool use" on the models overview).
  { model: "claude-opus-4-5", source: `${ANTHROPIC_MODELS}/opus-4-5/overview`, contextWindow: 200_000, maxOutputTokens: 64_000 },
  { model: "claude-sonnet-4-5", source: `${ANTHROPIC_MODELS}/sonnet-4-5/overview`, contextWindow: 200_000, maxOutputTokens: 64_000 },
  {
    model: "claude-haiku-4-5",
    source: `${ANTHROPIC_MODELS}/haiku-4-5/overview`,
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    tools: true,
    vision: true,
  },

  // Google Gemini API
  {
    model: "gemini-3-flash-preview",
    source: `${GEMINI_MODELS}/gemini-3-flash-preview`,
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    tools: true,
    vision: true,
    jsonMode: true,
  },
];

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
