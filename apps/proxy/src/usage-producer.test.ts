import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { createProducerConnection, createQueue } from "@switchyard/jobs";
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
    expect(await h.queue.getJob(requestId)).toBeUndefined();
    expect((await call(`${url}/readyz`)).status).toBe(503);
    expect((await call(`${url}/metrics`)).text).toContain("switchyard_proxy_usage_spool_events 1");

    await redisDoor.start(); // Redis is back: the producer reconnects and replays by itself
    const ev = await usageEventFor(h.queue, requestId, 10_000);
    expect(ev.usage).toMatchObject({ inputTokens: 16, outputTokens: 363 });
    await waitFor(() => running.usage.spooledCount === 0, 3000, "the spool to empty");
    expect(await readdir(spoolDir)).toEqual([]);
    await redisDoor.stop();
  });

  it("replays a spool left by a crash mid-replay, idempotently (job id = request id)", async () => {
    const spoolDir = await mkdtemp(path.join(tmpdir(), "switchyard-spool-"));
    const a = event("req_crash_a");
    const b = event("req_crash_b");
    // A replay that died after enqueueing `a`, and new events appended after it (with `a` again).
    await writeFile(path.join(spoolDir, "usage.replaying.jsonl"), `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`);
    await writeFile(path.join(spoolDir, "usage.jsonl"), `${JSON.stringify(a)}\n{"requestId":"torn-li`);
    await h.queue.add("usage", a, { jobId: a.requestId });

    const connection = createProducerConnection(REDIS_URL);
    const queue = createQueue("usage", connection);
    const metrics = new ProxyMetrics();
    const producer = new UsageProducer({ queue, connection, spoolDir, logger: pino({ level: "silent" }), metrics });
    await producer.start();
    expect(await waitFor(async () => (await producer.replaySpool()) >= 0 && (await readdir(spoolDir)).length === 0, 5000, "replay")).toBe(true);

    const ids = (await h.queue.getJobs(["waiting", "delayed", "active", "completed", "failed"])).map((j) => j.id);
    expect(ids.filter((id) => id === a.requestId)).toHaveLength(1);
    expect(ids.filter((id) => id === b.requestId)).toHaveLength(1);
    expect(producer.spooledCount).toBe(0);
    expect(metrics.render()).toContain("switchyard_proxy_usage_spool_events 0");

    await producer.close();
    await queue.close();
    connection.disconnect();
  });
});
