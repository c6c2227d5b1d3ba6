import { mkdtemp } from "node:fs/promises";
import { createServer, Socket, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { request } from "undici";
import { parseEnv, proxyEnvSchema } from "@switchyard/config";
import type { UsageEvent } from "@switchyard/contracts";
import { createPrismaClient, decodeEncryptionKey, encryptSecret, generateVirtualKey, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { createQueue, createRedisConnection, findQueuedUsageEvent, queuedUsageEvents, type TypedQueue } from "@switchyard/jobs";
import { startMockUpstream, type MockUpstream } from "@switchyard/mock-upstream";
import type { Redis } from "ioredis";
import { bootProxy, type BootOptions, type RunningProxy } from "../src/boot";

/** SWITCHYARD_TEST_REDIS_URL lets a developer run one suite against a Redis of its own. */
export const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
export const ENCRYPTION_KEY = "ab".repeat(32);
export const MOCK_PROVIDER_KEY = "sk-mock-provider-key";
export const ENC_PROVIDER_KEY = "sk-encrypted-provider-key";

export interface Keys {
  main: string;
  restricted: string;
  revoked: string;
  expired: string;
  mainId: string;
}

export interface Harness {
  prisma: PrismaClient;
  redis: Redis;
  queue: TypedQueue<"usage">;
  mock: MockUpstream;
  keys: Keys;
  databaseUrl: string;
  orgId: string;
  teamId: string;
  startProxy(overrides?: Partial<Omit<BootOptions, "env">> & { envOverrides?: Record<string, string> }): Promise<{ running: RunningProxy; url: string; spoolDir: string }>;
  close(): Promise<void>;
}

/**
 * Real Postgres (own database), real Redis (DB 1), the mock upstream in-process.
 * `database`: the suite's own database (default switchyard_test_proxy).
 */
export async function setupHarness(opts: { database?: string } = {}): Promise<Harness> {
  const databaseUrl = await prepareTestDatabase(opts.database ?? "switchyard_test_proxy");
  const prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  const redis = createRedisConnection(REDIS_URL);
  await redis.flushdb();
  const queue = createQueue("usage", redis);
  const mock = await startMockUpstream();

  const org = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const team = await prisma.team.create({ data: { orgId: org.id, slug: "search", name: "Search" } });
  const openai = await prisma.providerCredential.create({
    data: { slug: "openai-main", type: "openai", baseUrl: mock.url, keys: { create: { label: "default", apiKeyRef: "env:MOCK_OPENAI_KEY" } } },
  });
  const enc = await prisma.providerCredential.create({
    data: {
      slug: "openai-enc",
      type: "openai-compatible",
      baseUrl: mock.url,
      keys: { create: { label: "default", apiKeyEncrypted: encryptSecret(ENC_PROVIDER_KEY, decodeEncryptionKey(ENCRYPTION_KEY)) } },
    },
  });
  // A provider nobody listens for: connection refused.
  const dead = await prisma.providerCredential.create({
    data: { slug: "dead-provider", type: "openai", baseUrl: "http://127.0.0.1:9/v1", keys: { create: { label: "default", apiKeyRef: "env:MOCK_OPENAI_KEY" } } },
  });
  await prisma.model.createMany({
    data: [
      {
        name: "gpt-4o-mini",
        providerId: openai.id,
        upstreamModel: "gpt-4o-mini-2024-07-18",
        pricing: { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075" },
      },
      { name: "mystery", providerId: openai.id, upstreamModel: "mystery-model-1" },
      { name: "enc-model", providerId: enc.id, upstreamModel: "local-llama", pricing: { inputPerMTok: "1", outputPerMTok: "2" } },
      { name: "dead-model", providerId: dead.id, upstreamModel: "gpt-4o-mini" },
    ],
  });
  await prisma.route.create({ data: { alias: "default-chat", strategy: "fallback", targets: [{ model: "gpt-4o-mini" }, { model: "mystery" }] } });

  const mk = async (extra: { allowedModels?: string[]; revokedAt?: Date; expiresAt?: Date; tags?: Record<string, string> }, name: string) => {
    const k = generateVirtualKey();
    const row = await prisma.virtualKey.create({
      data: { orgId: org.id, teamId: team.id, name, keyHash: k.hash, prefix: k.prefix, ...extra },
    });
    return { key: k.key, id: row.id };
  };
  const main = await mk({ tags: { team: "search", costCenter: "42" } }, "main");
  const restricted = await mk({ allowedModels: ["default-chat"] }, "restricted");
  const revoked = await mk({ revokedAt: new Date(Date.now() - 1000) }, "revoked");
  const expired = await mk({ expiresAt: new Date(Date.now() - 1000) }, "expired");

  const started: RunningProxy[] = [];
  return {
    prisma,
    redis,
    queue,
    mock,
    databaseUrl,
    orgId: org.id,
    teamId: team.id,
    keys: { main: main.key, restricted: restricted.key, revoked: revoked.key, expired: expired.key, mainId: main.id },
    async startProxy(overrides = {}) {
      const spoolDir = await mkdtemp(path.join(tmpdir(), "switchyard-spool-"));
      const env = parseEnv(proxyEnvSchema, {
        DATABASE_URL: databaseUrl,
        REDIS_URL,
        SWITCHYARD_ENCRYPTION_KEY: ENCRYPTION_KEY,
        PROXY_SPOOL_DIR: spoolDir,
        PROXY_MAX_BODY_BYTES: "65536",
        PROXY_UPSTREAM_HEADERS_TIMEOUT_MS: "1000",
        LOG_LEVEL: "silent",
        ...overrides.envOverrides,
      });
      const { envOverrides: _ignored, ...rest } = overrides;
      const running = await bootProxy({ secretEnv: { MOCK_OPENAI_KEY: MOCK_PROVIDER_KEY }, ...rest, env });
      started.push(running);
      const addr = await running.proxy.listen(0, "127.0.0.1");
      return { running, url: `http://127.0.0.1:${addr.port}`, spoolDir };
    },
    async close() {
      for (const r of started) await r.shutdown(1000);
      await mock.close();
      await queue.close();
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}

export async function waitFor<T>(fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The usage event the proxy enqueued for a request id (a job of its own or in a batch). */
export async function usageEventFor(queue: TypedQueue<"usage">, requestId: string, timeoutMs = 5000): Promise<UsageEvent> {
  return waitFor(() => findQueuedUsageEvent(queue, requestId), timeoutMs, `usage job ${requestId}`);
}

/** The usage events of many requests, once every one is on the queue (in queue order). */
export async function usageEventsFor(queue: TypedQueue<"usage">, requestIds: Iterable<string>, timeoutMs = 10_000): Promise<UsageEvent[]> {
  const want = new Set(requestIds);
  return waitFor(
    async () => {
      const events = await queuedUsageEvents(queue, ["waiting", "prioritized", "delayed", "active", "completed"]);
      const mine = events.filter((e) => want.has(e.requestId));
      return mine.length >= want.size ? mine : null;
    },
    timeoutMs,
    "a usage event for every request",
  );
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
}

export async function call(url: string, opts: { method?: "GET" | "POST"; key?: string | null; headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await request(url, {
    method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

/** A TCP forwarder to Redis that can be switched off and on, to play "Redis is down". */
export async function redisForwarder(port = 0): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void> }> {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  let boundPort = port;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = new Socket();
        sockets.add(client);
        sockets.add(upstream);
        upstream.connect(6379, "127.0.0.1");
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
      });
      s.once("error", reject);
      s.listen(boundPort, "127.0.0.1", () => {
        boundPort = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stop = async () => {
    const s = server;
    server = null;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await start();
  return {
    get port() {
      return boundPort;
    },
    stop,
    start,
  };
}
