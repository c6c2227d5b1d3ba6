/**
 * The world the failover suites run in: the proxy harness (real Postgres and Redis)
 * plus upstreams of our own that faults are injected into, providers and models with
 * prices on them, and the routes that fail over between them. Also the independent
 * cost arithmetic the suites check the proxy's exact costs against.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TokenUsage, UsageEvent } from "@switchyard/contracts";
import { isUsageOnlyEvent, loadFixtures, splitSseEvents, startMockUpstream, type MockUpstream } from "@switchyard/mock-upstream";
import type { RunningProxy } from "../src/boot";
import { MOCK_PROVIDER_KEY, setupHarness, type Harness } from "./harness";

/** Provider keys the proxy reads from its environment (never real). */
export const PROVIDER_SECRETS = {
  MOCK_OPENAI_KEY: MOCK_PROVIDER_KEY,
  PRIMARY_KEY: "sk-primary-only-key",
  BACKUP_KEY: "sk-backup-only-key",
  CLAUDE_KEY: "sk-ant-mock-key",
  KEYED_A: "sk-keyed-a",
  KEYED_B: "sk-keyed-b",
  CTX_KEY: "sk-ctx-key",
} as const;

/** USD per million tokens; at most three decimals, so every token costs a whole number of nano-USD. */
export interface Price {
  inputPerMTok: string;
  outputPerMTok: string;
}

/** Public model name → its provider, upstream name, price and context window. */
export const MODELS = {
  "primary-model": { provider: "primary-ai", upstream: "primary-up", price: { inputPerMTok: "0.15", outputPerMTok: "0.6" } },
  "backup-model": { provider: "backup-ai", upstream: "backup-up", price: { inputPerMTok: "0.4", outputPerMTok: "1.6" } },
  "claude-model": { provider: "claude-ai", upstream: "claude-up", price: { inputPerMTok: "3", outputPerMTok: "15" }, contextWindow: 200_000 },
  "keyed-model": { provider: "keyed-ai", upstream: "keyed-up", price: { inputPerMTok: "1", outputPerMTok: "2" } },
  "ctx-small": { provider: "ctx-ai", upstream: "ctx-small-up", price: { inputPerMTok: "0.1", outputPerMTok: "0.2" }, contextWindow: 8_192 },
  "ctx-same": { provider: "primary-ai", upstream: "ctx-same-up", price: { inputPerMTok: "0.2", outputPerMTok: "0.3" }, contextWindow: 8_192 },
  "ctx-big": { provider: "backup-ai", upstream: "ctx-big-up", price: { inputPerMTok: "2.5", outputPerMTok: "10" }, contextWindow: 1_000_000 },
} as const satisfies Record<string, { provider: string; upstream: string; price: Price; contextWindow?: number }>;
export type ModelName = keyof typeof MODELS;

/** A short deadline for the deadline test (ms; the route option's floor is 100). */
export const DEADLINE_ROUTE_MS = 800;

/** Route alias → strategy, targets and options. */
const ROUTES: { alias: string; targets: ModelName[]; options?: { retry: { deadlineMs: number } } }[] = [
  { alias: "chat", targets: ["primary-model", "backup-model"] },
  { alias: "solo", targets: ["primary-model"] },
  { alias: "claude-first", targets: ["claude-model", "backup-model"] },
  { alias: "keyed", targets: ["keyed-model", "backup-model"] },
  { alias: "long-context", targets: ["ctx-small", "ctx-same", "ctx-big"] },
  { alias: "long-context-claude", targets: ["claude-model", "ctx-same", "ctx-big"] },
  { alias: "hurry", targets: ["primary-model", "backup-model"], options: { retry: { deadlineMs: DEADLINE_ROUTE_MS } } },
];

/** nano-USD per token of a USD-per-million-tokens price: $1/MTok = 1000 nano-USD per token. */
export function nanoPerToken(perMTok: string): bigint {
  const m = /^(\d+)(?:\.(\d{1,3}))?$/.exec(perMTok);
  if (!m) throw new Error(`price ${perMTok} needs at most three decimals to be whole nano-USD per token`);
  return BigInt(m[1]!) * 1000n + BigInt((m[2] ?? "").padEnd(3, "0"));
}

/** What `usage` costs on `model`, worked out here (not by @switchyard/pricing). */
export function exactCost(model: ModelName, usage: TokenUsage): bigint {
  if (usage.cachedInputTokens !== 0 || usage.cacheWriteTokens !== 0 || usage.reasoningTokens !== 0) {
    throw new Error("exactCost prices plain input and output tokens only");
  }
  const p = MODELS[model].price;
  return BigInt(usage.inputTokens) * nanoPerToken(p.inputPerMTok) + BigInt(usage.outputTokens) * nanoPerToken(p.outputPerMTok);
}

interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
}
const toUsage = (u: OpenAiUsage): TokenUsage => ({
  inputTokens: u.prompt_tokens,
  outputTokens: u.completion_tokens,
  cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
});

/** The usage the OpenAI mock's recorded replies carry: the JSON reply, and the stream's usage-only chunk. */
export function recordedUsage(): { json: TokenUsage; stream: TokenUsage } {
  const fx = loadFixtures();
  const json = toUsage((JSON.parse(fx.chatText) as { usage: OpenAiUsage }).usage);
  const usageEvent = splitSseEvents(fx.chatTextStream).find((e) => isUsageOnlyEvent(e));
  if (!usageEvent) throw new Error("the recorded stream has no usage chunk");
  const stream = toUsage((JSON.parse(usageEvent.replace(/^data: ?/, "")) as { usage: OpenAiUsage }).usage);
  return { json, stream };
}

/** OpenAI's 400 when a prompt does not fit (the shape its API returns for code context_length_exceeded). */
export const CONTEXT_LENGTH_EXCEEDED_BODY = JSON.stringify({
  error: {
    message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9010 tokens. Please reduce the length of the messages.",
    type: "invalid_request_error",
    param: "messages",
    code: "context_length_exceeded",
  },
});

/** An OpenAI-shaped upstream whose every chat completion is too long for it (the mock has no such reply). */
export interface ContextLimitedUpstream {
  url: string;
  /** Upstream model names of the requests it got, in order. */
  models: string[];
  close(): Promise<void>;
}

export async function startContextLimitedUpstream(): Promise<ContextLimitedUpstream> {
  const models: string[] = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      try {
        models.push(String((JSON.parse(text) as { model?: unknown }).model));
      } catch {
        models.push("");
      }
      res.writeHead(400, { "content-type": "application/json" });
      res.end(CONTEXT_LENGTH_EXCEEDED_BODY);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    models,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface FailoverWorld {
  h: Harness;
  running: RunningProxy;
  base: string;
  primary: MockUpstream;
  backup: MockUpstream;
  claude: MockUpstream;
  keyed: MockUpstream;
  ctx: ContextLimitedUpstream;
  /** Every mock's faults and scenario cleared. */
  resetFaults(): void;
  close(): Promise<void>;
}

/**
 * Starts the upstreams, writes the providers, models and routes, and boots a proxy
 * with `env` over the harness defaults. `maxRecorded`: requests each mock keeps.
 */
export async function setupFailoverWorld(opts: { database: string; env: Record<string, string>; maxRecorded?: number }): Promise<FailoverWorld> {
  const h = await setupHarness({ database: opts.database });
  const maxRecorded = opts.maxRecorded ?? 1000;
  const primary = await startMockUpstream({ maxRecorded });
  const backup = await startMockUpstream({ maxRecorded });
  const claude = await startMockUpstream({ provider: "anthropic", maxRecorded });
  const keyed = await startMockUpstream({ maxRecorded });
  const ctx = await startContextLimitedUpstream();

  const providers: { slug: string; type: string; url: string; keys: { label: string; ref: string }[] }[] = [
    { slug: "primary-ai", type: "openai", url: primary.url, keys: [{ label: "default", ref: "env:PRIMARY_KEY" }] },
    { slug: "backup-ai", type: "openai", url: backup.url, keys: [{ label: "default", ref: "env:BACKUP_KEY" }] },
    { slug: "claude-ai", type: "anthropic", url: claude.url, keys: [{ label: "default", ref: "env:CLAUDE_KEY" }] },
    {
      slug: "keyed-ai",
      type: "openai",
      url: keyed.url,
      keys: [
        { label: "key-a", ref: "env:KEYED_A" },
        { label: "key-b", ref: "env:KEYED_B" },
      ],
    },
    { slug: "ctx-ai", type: "openai", url: ctx.url, keys: [{ label: "default", ref: "env:CTX_KEY" }] },
  ];
  const providerIds = new Map<string, string>();
  for (const p of providers) {
    const row = await h.prisma.providerCredential.create({
      data: { slug: p.slug, type: p.type, baseUrl: p.url, keys: { create: p.keys.map((k) => ({ label: k.label, apiKeyRef: k.ref })) } },
    });
    providerIds.set(p.slug, row.id);
  }
  for (const [name, m] of Object.entries(MODELS) as [ModelName, (typeof MODELS)[ModelName]][]) {
    await h.prisma.model.create({
      data: {
        name,
        providerId: providerIds.get(m.provider)!,
        upstreamModel: m.upstream,
        pricing: { ...m.price },
        capabilities: "contextWindow" in m ? { contextWindow: m.contextWindow } : {},
      },
    });
  }
  for (const r of ROUTES) {
    await h.prisma.route.create({ data: { alias: r.alias, strategy: "fallback", targets: r.targets.map((model) => ({ model })), options: r.options ?? {} } });
  }

  const started = await h.startProxy({ envOverrides: opts.env, secretEnv: PROVIDER_SECRETS });
  const mocks = [primary, backup, claude, keyed];
  return {
    h,
    running: started.running,
    base: started.url,
    primary,
    backup,
    claude,
    keyed,
    ctx,
    resetFaults() {
      for (const m of mocks) {
        m.clearFaults();
        m.setScenario(null);
      }
    },
    async close() {
      await h.close();
      for (const m of mocks) await m.close();
      await ctx.close();
    },
  };
}

/** A usage event's cost fields as bigints (null stays null). */
export function costsOf(ev: UsageEvent): { cost: bigint | null; requested: bigint | null } {
  return {
    cost: ev.costNanoUsd === null ? null : BigInt(ev.costNanoUsd),
    requested: ev.requestedCostNanoUsd === null ? null : BigInt(ev.requestedCostNanoUsd),
  };
}
