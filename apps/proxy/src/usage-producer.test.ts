import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import {
  createProducerConnection,
  createQueue,
  createRedisConnection,
  findQueuedUsageEvent,
  queuedUsageEvents,
  usageBatchJobId,
} from "@switchyard/jobs";
import { computeCostNanoUsd, parseDecimalPrice } from "@switchyard/pricing";
import { usageEventsOf, type UsageEvent } from "@switchyard/contracts";
import { call, redisForwarder, REDIS_URL, setupHarness, usageEventFor, waitFor, type Harness } from "../test/harness";
import { ProxyMetrics } from "./metrics";
import { UsageProducer } from "./usage-producer";
import { makeUsageEvent } from "@switchyard/contracts/testing";

let h: Harness;
beforeAll(async () => {
  h = await setupHarness();
});
afterAll(async () => h.close());

const event = (requestId: string) => makeUsageEvent(requestId, { occurredAt: new Date().toISOString() });

describe("usage spool", () => {
  it("spools events while Redis is unreachable (without delaying the client) and replays them when it is back", async () => {
    const redisDoor = await redisForwarder();
    await redisDoor.stop(); // the producer now points at a closed port
    const { running, url, spoolDir } = await h.startProxy({ usageRedisUrl: `redis://127.0.0.1:${redisDoor.port}/1` });

    const started = Date.now();
    const r = await call(`${url}/v1/chat/completions`, {
      key: h.keys.main,
      body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
    });
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    const requestId = String(r.headers["x-request-id"]);

    await waitFor(() => running.usage.spooledCount === 1, 3000, "the event to be spooled");
    const spooled = await readFile(path.join(spoolDir, "usage.jsonl"), "utf8");
    expect(spooled.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(spooled)).toMatchObject({ requestId, status: 200, costNanoUsd: String(16 * 150 + 363 * 600) });
    expect(spooled).not.toContain(h.keys.main);
    expect(await findQueuedUsageEvent(h.queue, requestId)).toBeUndefined();
    expect((await call(`${url}/readyz`)).status).toBe(503);
    expect((await call(`${url}/metrics`)).text).toContain("switchyard_proxy_usage_spool_events 1");

    await redisDoor.start(); // Redis is back: the producer reconnects and replays by itself
    const ev = await usageEventFor(h.queue, requestId, 10_000);
    expect(ev.usage).toMatchObject({ inputTokens: 16, outputTokens: 363 });
    await waitFor(() => running.usage.spooledCount === 0, 3000, "the spool to empty");
    expect(await readdir(spoolDir)).toEqual([]);
    await redisDoor.stop();
  });

  it("replays a spool left by a crash mid-replay, idempotently (the same slice is the same job)", async () => {
    const spoolDir = await mkdtemp(path.join(tmpdir(), "switchyard-spool-"));
    const a = event("req_crash_a");
    const b = event("req_crash_b");
    const replaying = `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`;
    // A replay that died after enqueueing `a`, and new events appended after it (with `a` again).
    await writeFile(path.join(spoolDir, "usage.replaying.jsonl"), replaying);
    await writeFile(path.join(spoolDir, "usage.jsonl"), `${JSON.stringify(a)}\n{"requestId":"torn-li`);
    await h.queue.add("usage", a, { jobId: a.requestId });

    const connection = createProducerConnection(REDIS_URL);
    const queue = createQueue("usage", connection);
    const metrics = new ProxyMetrics();
    const producer = new UsageProducer({ queue, connection, spoolDir, logger: pino({ level: "silent" }), metrics });
    await producer.start();
    expect(await waitFor(async () => (await producer.replaySpool()) >= 0 && (await readdir(spoolDir)).length === 0, 5000, "replay")).toBe(true);

    const states = ["waiting", "delayed", "active", "completed", "failed"] as const;
    const crashJobs = async () => (await h.queue.getJobs([...states])).filter((j) => usageEventsOf(j.data).some((e) => e.requestId.startsWith("req_crash_")));
    // `a` alone (its id is its request id: the spooled copy is the same job) and the batch [a, b].
    const jobs = await crashJobs();
    expect(jobs.map((j) => j.id).sort()).toEqual([a.requestId, usageBatchJobId([a, b])].sort());
    const ids = (await queuedUsageEvents(h.queue, states)).map((e) => e.requestId).filter((id) => id.startsWith("req_crash_"));
    expect(new Set(ids)).toEqual(new Set([a.requestId, b.requestId])); // `a` twice: the worker dedupes it
    expect(producer.spooledCount).toBe(0);
    expect(metrics.render()).toContain("switchyard_proxy_usage_spool_events 0");

    // The process dies mid-replay again: the same file replays as the same job.
    await writeFile(path.join(spoolDir, "usage.replaying.jsonl"), replaying);
    expect(await producer.replaySpool()).toBe(2);
    expect((await crashJobs()).map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());

    await producer.close();
    await queue.close();
    connection.disconnect();
  });

  it("sends the events of one event-loop turn as one job (split at maxBatch), each exactly once", async () => {
    const spoolDir = await mkdtemp(path.join(tmpdir(), "switchyard-spool-"));
    const connection = createProducerConnection(REDIS_URL);
    const queue = createQueue("usage", connection);
    const calls: { add: number; bulk: number } = { add: 0, bulk: 0 };
    const add = queue.add.bind(queue);
    const addBulk = queue.addBulk.bind(queue);
    queue.add = ((...args: Parameters<typeof add>) => {
      calls.add++;
      return add(...args);
    });
    queue.addBulk = ((jobs: Parameters<typeof addBulk>[0]) => {
      calls.bulk++;
      return addBulk(jobs);
    });
    await waitFor(() => connection.status === "ready", 5000, "the producer connection");
    const producer = new UsageProducer({ queue, connection, spoolDir, logger: pino({ level: "silent" }), metrics: new ProxyMetrics(), maxBatch: 40 });
    await producer.start();
    const stamp = Date.now();
    const mine = async () =>
      (await h.queue.getJobs(["waiting", "delayed", "active", "completed", "failed"])).filter((j) =>
        usageEventsOf(j.data).some((e) => e.requestId.startsWith(`req_batch_${stamp}_`)),
      );

    const few = Array.from({ length: 5 }, (_, i) => `req_batch_${stamp}_few_${i}`);
    for (const id of few) producer.record(event(id)); // one turn: 5 events
    await producer.flush();
    expect(calls).toEqual({ add: 1, bulk: 0 });
    const [turn] = await mine();
    expect(turn?.name).toBe("usage-batch");
    expect(usageEventsOf(turn!.data).map((e) => e.requestId)).toEqual(few);

    const ids = Array.from({ length: 100 }, (_, i) => `req_batch_${stamp}_${i}`);
    for (const id of ids) producer.record(event(id)); // one turn: 100 events
    await producer.flush();
    expect(calls).toEqual({ add: 4, bulk: 0 }); // maxBatch splits, the rest goes at the end of the turn
    const sizes = (await mine()).map((j) => usageEventsOf(j.data).length).sort((x, y) => x - y);
    expect(sizes).toEqual([5, 20, 40, 40]);

    producer.record(event(ids[0]!));
    producer.record(event(few[0]!)); // sent again in one turn: a batch of duplicates, the worker dedupes them
    await producer.flush();
    producer.record(event(ids[1]!)); // alone: a plain job whose id is the request id...
    await producer.flush();
    producer.record(event(ids[1]!)); // ...so sending it alone again adds no job
    await producer.flush();
    expect(calls).toEqual({ add: 7, bulk: 0 });
    expect(await h.queue.getJob(ids[1]!)).toMatchObject({ name: "usage", data: { requestId: ids[1] } });
    const queued = (await mine()).flatMap((j) => usageEventsOf(j.data).map((e) => e.requestId));
    expect(queued.sort()).toEqual([...few, ...ids, ids[0]!, few[0]!, ids[1]!].sort());

    await producer.close();
    await queue.close();
    connection.disconnect();
  });

  it("gathers events of several turns within batchWindowMs into one job; with 0, one job per turn", async () => {
    const spoolDir = await mkdtemp(path.join(tmpdir(), "switchyard-spool-"));
    const connection = createProducerConnection(REDIS_URL);
    const queue = createQueue("usage", connection);
    let adds = 0;
    const add = queue.add.bind(queue);
    queue.add = ((...args: Parameters<typeof add>) => {
      adds++;
      return add(...args);
    });
    await waitFor(() => connection.status === "ready", 5000, "the producer connection");
    const stamp = Date.now();
    const nextTurn = () => new Promise((r) => setImmediate(r));
    // A window far longer than three event-loop turns take even on a busy machine (a 50 ms
    // one closed before the third turn once in CI): the timer, not the turns, sends the batch.
    const WINDOW_MS = 1000;
    const idle = () => waitFor(() => adds > 0, WINDOW_MS + 4000, "the batch to be sent");

    const windowed = new UsageProducer({ queue, connection, spoolDir, logger: pino({ level: "silent" }), metrics: new ProxyMetrics(), batchWindowMs: WINDOW_MS });
    for (let i = 0; i < 3; i++) {
      windowed.record(event(`req_window_${stamp}_${i}`));
      await nextTurn();
    }
    expect(adds).toBe(0); // still gathering
    await idle();
    await windowed.flush();
    expect(adds).toBe(1);

    adds = 0;
    const perTurn = new UsageProducer({ queue, connection, spoolDir, logger: pino({ level: "silent" }), metrics: new ProxyMetrics(), batchWindowMs: 0 });
    for (let i = 0; i < 3; i++) {
      perTurn.record(event(`req_turn_${stamp}_${i}`));
      await nextTurn();
      await nextTurn();
    }
    await perTurn.flush();
    expect(adds).toBe(3);
    const found = await Promise.all(
      [0, 1, 2].flatMap((i) => [`req_window_${stamp}_${i}`, `req_turn_${stamp}_${i}`]).map((id) => findQueuedUsageEvent(h.queue, id)),
    );
    expect(found.every((e) => e !== undefined)).toBe(true);

    await windowed.close();
    await perTurn.close();
    await queue.close();
    connection.disconnect();
  });

  it("schema-checks every event by default and a sample when told, off the request path", async () => {
    const spoolDir = await mkdtemp(path.join(tmpdir(), "switchyard-spool-"));
    const connection = createProducerConnection(REDIS_URL);
    const queue = createQueue("usage", connection);
    await waitFor(() => connection.status === "ready", 5000, "the producer connection");
    const errors: string[] = [];
    const logger = pino({ level: "error" }, { write: (line: string) => void errors.push(line) });
    const bad = (i: number) => ({ ...event(`req_bad_${Date.now()}_${i}`), costNanoUsd: "1.5" });
    for (const validateEvery of [undefined, 4]) {
      errors.length = 0;
      const producer = new UsageProducer({ queue, connection, spoolDir, logger, metrics: new ProxyMetrics(), validateEvery });
      for (let i = 0; i < 8; i++) producer.record(bad(i));
      expect(errors).toEqual([]); // nothing checked while recording
      await producer.flush();
      expect(errors.filter((l) => l.includes("usage event does not match the schema"))).toHaveLength(validateEvery === 4 ? 2 : 8);
      await producer.close();
    }
    await queue.close();
    connection.disconnect();
  });
});

/** A free TCP port on 127.0.0.1 (bound, read, released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A private, throw-away redis-server (no persistence): its data dies with it. */
async function startRedisServer(port: number): Promise<ChildProcess> {
  const proc = spawn("redis-server", ["--save", "", "--appendonly", "no", "--port", String(port), "--bind", "127.0.0.1"], { stdio: "ignore" });
  const probe = createProducerConnection(`redis://127.0.0.1:${port}`);
  probe.on("error", () => undefined);
  try {
    await waitFor(async () => (await probe.ping().catch(() => null)) === "PONG", 10_000, `redis-server on ${port}`);
  } finally {
    probe.disconnect();
  }
  return proc;
}

/** Reads every usage event queued on a Redis (what the worker would consume). */
async function queuedEvents(url: string): Promise<UsageEvent[]> {
  const connection = createRedisConnection(url);
  const queue = createQueue("usage", connection);
  try {
    return await queuedUsageEvents(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

describe("Redis stopped for real", () => {
  it("loses no usage: K events while up, M spooled while down and replayed after restart; costs match the client's to the nano-dollar", async () => {
    const port = await freePort();
    const redisUrl = `redis://127.0.0.1:${port}/0`;
    let redisProc = await startRedisServer(port);
    const { running, url, spoolDir } = await h.startProxy({ usageRedisUrl: redisUrl });
    // gpt-4o-mini as the harness configures it.
    const pricing = { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075" };
    const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];

    /** One request; returns its id and the cost the client saw (header, or the stream's usage chunk priced). */
    const send = async (i: number): Promise<{ id: string; costNano: bigint }> => {
      const stream = i % 2 === 1;
      const r = await call(`${url}/v1/chat/completions`, {
        key: h.keys.main,
        body: { model: "gpt-4o-mini", messages, ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) },
      });
      expect(r.status).toBe(200);
      const id = String(r.headers["x-request-id"]);
      if (!stream) return { id, costNano: parseDecimalPrice(String(r.headers["x-switchyard-cost-usd"])) / 1000n };
      // Streams have no cost header: the client prices the usage chunk it received.
      const usageChunk = r.text
        .split("\n\n")
        .map((e) => e.replace(/^data: ?/, "").trim())
        .filter((d) => d !== "" && d !== "[DONE]")
        .map((d) => JSON.parse(d) as { usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } | null })
        .find((c) => c.usage)?.usage;
      if (!usageChunk) throw new Error("stream without a usage chunk");
      const usage = {
        inputTokens: usageChunk.prompt_tokens,
        outputTokens: usageChunk.completion_tokens,
        cachedInputTokens: usageChunk.prompt_tokens_details?.cached_tokens ?? 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
      };
      return { id, costNano: computeCostNanoUsd(usage, pricing) };
    };

    try {
      const K = 6;
      const M = 6;
      const sent: { id: string; costNano: bigint }[] = [];
      for (let i = 0; i < K; i++) sent.push(await send(i));
      await running.usage.flush();
      // Consume what reached the queue before Redis goes away (it keeps nothing across the restart).
      const before = await waitFor(async () => {
        const evs = await queuedEvents(redisUrl);
        return evs.length >= K ? evs : null;
      }, 5000, "the first K events on the queue");

      const shutdown = createProducerConnection(redisUrl);
      shutdown.on("error", () => undefined);
      await waitFor(() => shutdown.status === "ready", 5000, "an admin connection");
      await shutdown.call("SHUTDOWN", "NOSAVE").catch(() => undefined); // the connection drops as it answers
      shutdown.disconnect();
      if (redisProc.exitCode === null) await once(redisProc, "exit");

      for (let i = 0; i < M; i++) sent.push(await send(K + i));
      await running.usage.flush();
      expect(running.usage.spooledCount).toBe(M);
      expect((await readFile(path.join(spoolDir, "usage.jsonl"), "utf8")).trim().split("\n")).toHaveLength(M);

      redisProc = await startRedisServer(port);
      await waitFor(() => running.usage.spooledCount === 0, 15_000, "the spool replay");
      const after = await waitFor(async () => {
        const evs = await queuedEvents(redisUrl);
        return evs.length >= M ? evs : null;
      }, 5000, "the M replayed events on the queue");

      const all = [...before, ...after];
      expect(all).toHaveLength(K + M);
      expect(new Set(all.map((e) => e.requestId)).size).toBe(K + M);
      expect(new Set(all.map((e) => e.requestId))).toEqual(new Set(sent.map((s) => s.id)));
      expect(after.map((e) => e.requestId).sort()).toEqual(sent.slice(K).map((s) => s.id).sort());
      const recorded = all.reduce((sum, e) => sum + BigInt(e.costNanoUsd ?? "0"), 0n);
      const seen = sent.reduce((sum, s) => sum + s.costNano, 0n);
      expect(seen).toBeGreaterThan(0n);
      expect(recorded).toBe(seen);
      expect(all.every((e) => e.usageSource === "provider" && e.costNanoUsd !== null)).toBe(true);
    } finally {
      // The harness shuts the proxy down; the private Redis goes now.
      if (redisProc.exitCode === null) {
        redisProc.kill("SIGTERM");
        await once(redisProc, "exit");
      }
    }
  });
});
