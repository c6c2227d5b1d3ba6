/**
 * Several real proxy processes against one Redis and one Postgres, for tests that must
 * prove behaviour across replicas (rate limits, budgets, revocation).
 *
 * Each replica is `node --import tsx src/main.ts`, i.e. the proxy's real entry point
 * (env parsing, boot, listen, SIGTERM drain) run from source. Why not dist/main.js: the
 * proxy's `test` task does not depend on its `build` in turbo, so a bundle could be
 * missing or, worse, stale (older than the source under test) and the suite would prove
 * old code. Running the source in separate OS processes keeps everything that matters
 * (no shared memory, separate Redis connections and snapshots) and cannot go stale.
 *
 * Redis: DB 0 with a random limits key prefix (SWITCHYARD_LIMITS_PREFIX) per run, never
 * FLUSHDB, so this suite can run while other suites use DB 1 (the proxy's harness
 * flushes DB 1 at start). Usage events land on the `usage` queue of DB 0; teardown
 * removes this run's jobs (matched by org id) and its limit keys.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { usageEventsOf, type UsageEvent } from "@switchyard/contracts";
import { createPrismaClient, generateVirtualKey, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  createQueue,
  createRedisConnection,
  findQueuedUsageEvent,
  publishConfigChanged,
  type TypedQueue,
} from "@switchyard/jobs";
import { deleteKeysWithPrefix } from "@switchyard/limits";
import { startMockUpstream, type MockUpstream } from "@switchyard/mock-upstream";
import type { Redis } from "ioredis";

export const REPLICAS_REDIS_URL = "redis://127.0.0.1:6379/0";
const ENCRYPTION_KEY = "cd".repeat(32);
const MOCK_PROVIDER_KEY = "sk-mock-provider-key";
const proxyDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The priced model every test calls; prices are per million tokens (USD). */
export const PRICED_MODEL = {
  name: "replica-model",
  inputPerMTok: "100",
  outputPerMTok: "100",
} as const;

export interface Replica {
  name: string;
  url: string;
  child: ChildProcess;
  output(): string;
}

export interface ReplicaWorld {
  prisma: PrismaClient;
  /** A plain connection to the replicas' Redis (DB 0). */
  redis: Redis;
  usageQueue: TypedQueue<"usage">;
  mock: MockUpstream;
  databaseUrl: string;
  orgId: string;
  teamId: string;
  /** SWITCHYARD_LIMITS_PREFIX given to every replica (a fresh one per run). */
  limitsPrefix: string;
  replicas: Replica[];
  /** A key of the default team (or of `teamId`). */
  createKey(data?: {
    name?: string;
    teamId?: string;
    rpmLimit?: number;
    tpmLimit?: number;
  }): Promise<{ key: string; id: string }>;
  /** Starts `count` replicas (after the keys and budgets they must know exist) and waits for /readyz. */
  startReplicas(count: number, env?: Record<string, string>): Promise<Replica[]>;
  /** What a dashboard or CLI write does after changing Postgres. */
  publishConfigChanged(): Promise<void>;
  /** The last lines each replica wrote, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

function keepOutput(child: ChildProcess): () => string {
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => out;
}

/**
 * What a failure message needs from a replica's output: every line that is not a
 * successful per-request log record (warnings, errors, stack traces, refusals), at most
 * the last 60 of them, then the last 10 lines whatever they are.
 */
function digestOutput(out: string): string {
  const lines = out.split("\n").filter((l) => l.trim() !== "");
  const notable = lines.filter((l) => {
    if (!l.startsWith("{")) return true;
    try {
      const rec = JSON.parse(l) as { level?: number; msg?: string; status?: number; latencyMs?: unknown; method?: unknown };
      // Per-request records carry the readable line as msg and latencyMs/method as fields.
      const isRequest = typeof rec.latencyMs === "number" && typeof rec.method === "string";
      return (rec.level ?? 30) >= 40 || (isRequest && (rec.status ?? 0) >= 400 && rec.status !== 429) || !isRequest;
    } catch {
      return true;
    }
  });
  return [
    `notable lines (${notable.length}):`,
    ...notable.slice(-60),
    "last lines:",
    ...lines.slice(-10),
  ].join("\n");
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Polls until `fn` returns a truthy value; fails after `timeoutMs` naming `what` (and showing `logs`). */
export async function pollUntil<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  logs?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const why = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : "";
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${why}${logs ? `\n${logs()}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for the "proxy listening" log line (the replica listens on port 0) and returns the port. */
function listeningPort(child: ChildProcess, output: () => string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        finish(new Error(`${name} did not start listening within 60 s:\n${output().slice(-4000)}`)),
      60_000,
    );
    const onExit = (code: number | null) =>
      finish(new Error(`${name} exited (${code}) before listening:\n${output().slice(-4000)}`));
    let buffered = "";
    const onData = (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        try {
          const rec = JSON.parse(line) as { msg?: string; port?: number };
          if (rec.msg === "proxy listening" && typeof rec.port === "number") finish(null, rec.port);
        } catch {
          // not a log record
        }
      }
    };
    function finish(err: Error | null, port?: number) {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout?.off("data", onData);
      if (err) reject(err);
      else resolve(port ?? 0);
    }
    child.once("exit", onExit);
    child.stdout?.on("data", onData);
  });
}

export async function setupReplicaWorld(): Promise<ReplicaWorld> {
  const databaseUrl = await prepareTestDatabase("switchyard_test_replicas");
  const prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  const redis = createRedisConnection(REPLICAS_REDIS_URL);
  const usageQueue = createQueue("usage", redis);
  const mock = await startMockUpstream();
  const limitsPrefix = `test:replicas:${randomBytes(6).toString("hex")}:`;

  const org = await prisma.organization.create({
    data: { slug: "replicas", name: "Replicas Inc" },
  });
  const team = await prisma.team.create({ data: { orgId: org.id, slug: "burst", name: "Burst" } });
  const provider = await prisma.providerCredential.create({
    data: {
      slug: "mock-openai",
      type: "openai",
      baseUrl: mock.url,
      keys: { create: { label: "default", apiKeyRef: "env:MOCK_OPENAI_KEY" } },
    },
  });
  await prisma.model.create({
    data: {
      name: PRICED_MODEL.name,
      providerId: provider.id,
      upstreamModel: "gpt-4o",
      pricing: {
        inputPerMTok: PRICED_MODEL.inputPerMTok,
        outputPerMTok: PRICED_MODEL.outputPerMTok,
      },
    },
  });

  const replicas: Replica[] = [];
  const spoolDirs: string[] = [];

  return {
    prisma,
    redis,
    usageQueue,
    mock,
    databaseUrl,
    orgId: org.id,
    teamId: team.id,
    limitsPrefix,
    replicas,
    async createKey(data = {}) {
      const k = generateVirtualKey();
      const row = await prisma.virtualKey.create({
        data: {
          orgId: org.id,
          teamId: data.teamId ?? team.id,
          name: data.name ?? "key",
          keyHash: k.hash,
          prefix: k.prefix,
          rpmLimit: data.rpmLimit,
          tpmLimit: data.tpmLimit,
        },
      });
      return { key: k.key, id: row.id };
    },
    async startReplicas(count, extraEnv = {}) {
      const started: { replica: Omit<Replica, "url">; port: Promise<number> }[] = [];
      for (let i = 0; i < count; i++) {
        const name = `replica-${replicas.length + i + 1}`;
        const spoolDir = await mkdtemp(path.join(tmpdir(), "switchyard-replica-spool-"));
        spoolDirs.push(spoolDir);
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATABASE_URL: databaseUrl,
          REDIS_URL: REPLICAS_REDIS_URL,
          SWITCHYARD_ENCRYPTION_KEY: ENCRYPTION_KEY,
          PROXY_HOST: "127.0.0.1",
          PROXY_PORT: "0",
          PROXY_SPOOL_DIR: spoolDir,
          SWITCHYARD_LIMITS_PREFIX: limitsPrefix,
          LOG_LEVEL: "info",
          MOCK_OPENAI_KEY: MOCK_PROVIDER_KEY,
          ...extraEnv,
        };
        const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
          cwd: proxyDir,
          env,
          stdio: ["ignore", "pipe", "pipe"],
        });
        const output = keepOutput(child);
        started.push({
          replica: { name, child, output },
          port: listeningPort(child, output, name),
        });
      }
      const ready: Replica[] = [];
      for (const s of started) {
        const port = await s.port;
        const replica: Replica = { ...s.replica, url: `http://127.0.0.1:${port}` };
        replicas.push(replica);
        ready.push(replica);
      }
      for (const r of ready) {
        await pollUntil(
          `${r.name} /readyz`,
          async () => (await request(`${r.url}/readyz`)).statusCode === 200,
          30_000,
          () => r.output().slice(-4000),
        );
      }
      return ready;
    },
    async publishConfigChanged() {
      const problems: string[] = [];
      const ok = await publishConfigChanged(
        REPLICAS_REDIS_URL,
        { kind: "virtual-key", source: "dashboard" },
        (m) => problems.push(m),
      );
      if (!ok) throw new Error(`publishConfigChanged failed: ${problems.join("; ")}`);
    },
    logs() {
      return replicas
        .map((r) => `--- ${r.name} (${r.url}):\n${digestOutput(r.output())}`)
        .join("\n");
    },
    async close() {
      await Promise.all(replicas.map((r) => stopChild(r.child)));
      await mock.close();
      // This run's usage jobs (other suites' jobs on the same queue are left alone) and limit keys.
      const jobs = await usageQueue.getJobs([
        "waiting",
        "delayed",
        "prioritized",
        "completed",
        "failed",
      ]);
      // A batch job holds the events of one replica's event-loop turn: all of this run's org.
      for (const job of jobs)
        if (job.data && usageEventsOf(job.data).some((e) => e.orgId === org.id))
          await job.remove().catch(() => undefined);
      await deleteKeysWithPrefix(redis, limitsPrefix);
      await usageQueue.close();
      redis.disconnect();
      await prisma.$disconnect();
      await Promise.all(spoolDirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function header(reply: Reply, name: string): string | undefined {
  const v = reply.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** One chat completion (body read to the end, streams included). */
export async function chat(
  url: string,
  key: string,
  body: Record<string, unknown>,
): Promise<Reply> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

/** The usage event a replica enqueued for a request id (polls: it is enqueued after the response ends). */
export async function usageEventFor(
  queue: TypedQueue<"usage">,
  requestId: string,
  timeoutMs = 5000,
): Promise<UsageEvent> {
  return pollUntil(`usage job ${requestId}`, () => findQueuedUsageEvent(queue, requestId), timeoutMs);
}

/**
 * Starts a streamed chat completion and hangs up after the first chunk of the body,
 * as a client that gives up mid-stream does. Returns the status and the request id.
 */
export async function chatAbortedMidStream(
  url: string,
  key: string,
  body: Record<string, unknown>,
): Promise<{ status: number; requestId: string }> {
  const res = await request(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const requestId = String(res.headers["x-request-id"] ?? "");
  if (res.statusCode !== 200) {
    await res.body.text();
    return { status: res.statusCode, requestId };
  }
  for await (const chunk of res.body) {
    if ((chunk as Buffer).length > 0) break; // leaving the loop destroys the body: the connection closes
  }
  return { status: res.statusCode, requestId };
}

/** GET /v1/models with a key: authenticated, answered from the snapshot, no upstream call. */
export async function listModels(url: string, key: string): Promise<Reply> {
  const res = await request(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}
