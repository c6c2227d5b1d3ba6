/**
 * Conformance harness: the proxy in-process over real Postgres and Redis, a mock
 * upstream playing one provider (replaying that provider's recorded payloads), and the
 * official SDKs pointed at the proxy, the way applications call it.
 * One `<provider>.test.ts` per provider uses it.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import type { ModelPricing, ProviderType, UsageEvent } from "@switchyard/contracts";
import { parseEnv, proxyEnvSchema } from "@switchyard/config";
import { createPrismaClient, generateVirtualKey, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { createQueue, createRedisConnection, findQueuedUsageEvent, type TypedQueue } from "@switchyard/jobs";
import { startMockUpstream, type MockProviderName, type MockUpstream } from "@switchyard/mock-upstream";
import { bootProxy, type RunningProxy } from "../../src/boot";

const ENCRYPTION_KEY = "cd".repeat(32);
/** The provider key the proxy sends upstream (from its env); tests can assert the mock saw it. */
export const UPSTREAM_KEY = "sk-conformance-upstream-key";

export interface ConformanceModel {
  /** Public name clients send. */
  name: string;
  upstreamModel: string;
  pricing?: ModelPricing;
}

export interface ConformanceOptions {
  /** Which mock personality plays the provider. */
  mock: MockProviderName;
  /** The provider type the proxy's adapter is chosen by. */
  providerType: ProviderType;
  providerSlug?: string;
  models: ConformanceModel[];
  /** Azure and friends: api-version. */
  apiVersion?: string;
  /** Base URL override; default the mock's URL. */
  baseUrl?: (mockUrl: string) => string;
  /**
   * Redis logical DB of this suite (each suite its own, so suites can run side by side):
   * openai 7, anthropic 8, gemini 9, mistral 10, cohere 11, azure 12, messages 13, embeddings 14.
   */
  redisDb: number;
  /** Suffix of this suite's own database (default: the mock's name). */
  suite?: string;
  /** Route aliases over the models above. */
  routes?: { alias: string; targets: string[]; strict?: boolean }[];
}

export interface Conformance {
  mock: MockUpstream;
  prisma: PrismaClient;
  queue: TypedQueue<"usage">;
  proxyUrl: string;
  virtualKey: string;
  /** OpenAI SDK pointed at the proxy (no retries, so a failure is seen as it is). */
  openai: OpenAI;
  /** Anthropic SDK pointed at the proxy's /v1/messages. */
  anthropic: Anthropic;
  /** The usage event the proxy emitted for a request id (waits for it). */
  usageEventFor(requestId: string): Promise<UsageEvent>;
  close(): Promise<void>;
}

export async function setupConformance(opts: ConformanceOptions): Promise<Conformance> {
  const databaseUrl = await prepareTestDatabase(`switchyard_test_conf_${(opts.suite ?? opts.mock).replace(/[^a-z0-9_]/g, "_")}`);
  const prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  const redisUrl = `redis://127.0.0.1:6379/${opts.redisDb}`;
  const redis = createRedisConnection(redisUrl);
  await redis.flushdb();
  const queue = createQueue("usage", redis);
  const mock = await startMockUpstream({ provider: opts.mock });

  const org = await prisma.organization.create({ data: { slug: "conf", name: "Conformance" } });
  const team = await prisma.team.create({ data: { orgId: org.id, slug: "t", name: "T" } });
  const provider = await prisma.providerCredential.create({
    data: {
      slug: opts.providerSlug ?? opts.mock,
      type: opts.providerType,
      baseUrl: opts.baseUrl ? opts.baseUrl(mock.url) : mock.url,
      apiVersion: opts.apiVersion ?? null,
      keys: { create: { label: "default", apiKeyRef: "env:CONFORMANCE_UPSTREAM_KEY" } },
    },
  });
  await prisma.model.createMany({
    data: opts.models.map((m) => ({ name: m.name, providerId: provider.id, upstreamModel: m.upstreamModel, pricing: m.pricing ?? undefined })),
  });
  for (const r of opts.routes ?? []) {
    await prisma.route.create({ data: { alias: r.alias, targets: r.targets.map((model) => ({ model })), strict: r.strict ?? false } });
  }
  const k = generateVirtualKey();
  await prisma.virtualKey.create({ data: { orgId: org.id, teamId: team.id, name: "conformance", keyHash: k.hash, prefix: k.prefix } });

  const env = parseEnv(proxyEnvSchema, {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    SWITCHYARD_ENCRYPTION_KEY: ENCRYPTION_KEY,
    PROXY_SPOOL_DIR: await mkdtemp(path.join(tmpdir(), "switchyard-conf-spool-")),
    PROXY_UPSTREAM_HEADERS_TIMEOUT_MS: "5000",
    LOG_LEVEL: "silent",
  });
  const running: RunningProxy = await bootProxy({ env, secretEnv: { CONFORMANCE_UPSTREAM_KEY: UPSTREAM_KEY } });
  const addr = await running.proxy.listen(0, "127.0.0.1");
  const proxyUrl = `http://127.0.0.1:${addr.port}`;

  return {
    mock,
    prisma,
    queue,
    proxyUrl,
    virtualKey: k.key,
    openai: new OpenAI({ apiKey: k.key, baseURL: `${proxyUrl}/v1`, maxRetries: 0 }),
    anthropic: new Anthropic({ apiKey: k.key, baseURL: proxyUrl, maxRetries: 0 }),
    async usageEventFor(requestId) {
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        const event = await findQueuedUsageEvent(queue, requestId);
        if (event) return event;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no usage event for ${requestId}`);
    },
    async close() {
      await running.shutdown(1000);
      await mock.close();
      await queue.close();
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}

/** Reads every chunk of an OpenAI SDK stream: the concatenated text, tool calls by index, finish reason, usage. */
export async function collectOpenAiStream(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = "";
  let finishReason: string | null = null;
  let usage: OpenAI.Completions.CompletionUsage | null = null;
  let chunks = 0;
  const toolCalls = new Map<number, { id?: string; name: string; arguments: string }>();
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.delta.content ?? "";
      if (choice.finish_reason) finishReason = choice.finish_reason;
      for (const tc of choice.delta.tool_calls ?? []) {
        const cur = toolCalls.get(tc.index) ?? { name: "", arguments: "" };
        if (tc.id) cur.id = tc.id;
        cur.name += tc.function?.name ?? "";
        cur.arguments += tc.function?.arguments ?? "";
        toolCalls.set(tc.index, cur);
      }
    }
  }
  return { text, finishReason, usage, chunks, toolCalls: [...toolCalls.entries()].sort(([a], [b]) => a - b).map(([, v]) => v) };
}
