/**
 * Multi-replica correctness: three proxy processes behind a client that spreads its
 * requests round-robin over them, one Redis, one Postgres, the mock upstream. What one
 * replica admits, refuses or revokes must hold for all of them.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { periodStart, readBudget, tokensCounted } from "@switchyard/limits";
import {
  chat,
  chatAbortedMidStream,
  header,
  listModels,
  pollUntil,
  PRICED_MODEL,
  setupReplicaWorld,
  usageEventFor,
  type Replica,
  type Reply,
  type ReplicaWorld,
} from "./replicas";

const REPLICAS = 3;
const NANO_PER_USD = 1_000_000_000n;

let world: ReplicaWorld;
let replicas: Replica[];
let rpmKey: { key: string; id: string };
let budgetKey: { key: string; id: string };
let budgetId: string;
let revokeKey: { key: string; id: string };
let lostNoticeKey: { key: string; id: string };
let squadKeys: { key: string; id: string }[];
let tpmKeyRow: { key: string; id: string };
let abortKey: { key: string; id: string };
let abortBudgetId: string;

function errorOf(reply: Reply): { code?: string; type?: string; message?: string } {
  return (
    (JSON.parse(reply.text) as { error?: { code?: string; type?: string; message?: string } })
      .error ?? {}
  );
}

function countBy<T>(items: T[], f: (t: T) => string | number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[String(f(i))] = (out[String(f(i))] ?? 0) + 1;
  return out;
}

beforeAll(async () => {
  world = await setupReplicaWorld();
  rpmKey = await world.createKey({ name: "rpm-60", rpmLimit: 60 });
  budgetKey = await world.createKey({ name: "one-dollar" });
  const budget = await world.prisma.budget.create({
    data: {
      orgId: world.orgId,
      scope: "KEY",
      virtualKeyId: budgetKey.id,
      amountNanoUsd: NANO_PER_USD,
      period: "MONTH",
      hard: true,
    },
  });
  budgetId = budget.id;
  revokeKey = await world.createKey({ name: "to-revoke" });
  lostNoticeKey = await world.createKey({ name: "revoked-without-notice" });
  const squad = await world.prisma.team.create({
    data: { orgId: world.orgId, slug: "squad", name: "Squad", rpmLimit: 30 },
  });
  squadKeys = [
    await world.createKey({ name: "squad-a", teamId: squad.id }),
    await world.createKey({ name: "squad-b", teamId: squad.id }),
  ];
  // 30 requests × the mock's 379 tokens (16 in + 363 out) fill this window exactly.
  tpmKeyRow = await world.createKey({ name: "tpm", tpmLimit: 30 * 379 });
  abortKey = await world.createKey({ name: "abort" });
  abortBudgetId = (
    await world.prisma.budget.create({
      data: {
        orgId: world.orgId,
        scope: "KEY",
        virtualKeyId: abortKey.id,
        amountNanoUsd: 1000n * NANO_PER_USD,
        period: "MONTH",
        hard: true,
      },
    })
  ).id;
  replicas = await world.startReplicas(REPLICAS, {
    // Long enough that only the pub/sub notice can make a revocation visible within 1 s.
    PROXY_SNAPSHOT_REFRESH_MS: "600000",
    // A limits failure must show up as 503s here, never as silently unchecked requests.
    PROXY_LIMITS_FAIL_MODE: "closed",
    // The 500 ms default guards latency in production; on a loaded CI machine a busy event
    // loop can outlast it and turn a correct answer into a 503. This suite tests counting.
    PROXY_LIMITS_TIMEOUT_MS: "10000",
  });
  // Warm every replica up (limits scripts loaded into Redis, tokenizer loaded, upstream
  // connection open) with a key of its own, so the first burst meets no cold start.
  const warm = await world.createKey({
    name: "warm-up",
    rpmLimit: 1_000_000,
    tpmLimit: 100_000_000,
  });
  await world.prisma.budget.create({
    data: {
      orgId: world.orgId,
      scope: "KEY",
      virtualKeyId: warm.id,
      amountNanoUsd: 1000n * NANO_PER_USD,
      period: "MONTH",
      hard: true,
    },
  });
  await world.publishConfigChanged();
  for (const r of replicas) {
    await pollUntil(
      `${r.name} to serve the warm-up key`,
      async () =>
        (
          await chat(r.url, warm.key, {
            model: PRICED_MODEL.name,
            messages: [{ role: "user", content: "hi" }],
            max_tokens: 16,
          })
        ).status === 200,
      10_000,
      () => world.logs(),
    );
  }
});

afterAll(async () => {
  await world?.close();
});

describe("three proxy replicas, one Redis", () => {
  it("a key with rpmLimit 60 admits exactly 60 of 200 concurrent requests spread over all replicas", async () => {
    onTestFailed(() => console.error(world.logs()));
    const body = {
      model: PRICED_MODEL.name,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 16,
    };
    const replies = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const replica = replicas[i % REPLICAS] as Replica;
        return { replica: replica.name, reply: await chat(replica.url, rpmKey.key, body) };
      }),
    );

    expect(countBy(replies, (r) => r.reply.status)).toEqual({ 200: 60, 429: 140 });
    // Every replica answered its third of the burst.
    for (const r of replicas)
      expect(replies.filter((x) => x.replica === r.name).length).toBeGreaterThan(60);

    const ok = replies.filter((r) => r.reply.status === 200).map((r) => r.reply);
    for (const reply of ok) expect(header(reply, "x-ratelimit-limit-requests")).toBe("60");
    // One atomic counter for all replicas: each admitted request saw a different remaining count.
    const remaining = ok
      .map((r) => Number(header(r, "x-ratelimit-remaining-requests")))
      .sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => i));

    for (const { reply } of replies.filter((r) => r.reply.status === 429)) {
      expect(errorOf(reply).code).toBe("rate_limit_exceeded");
      const retryAfter = Number(header(reply, "retry-after"));
      expect(Number.isInteger(retryAfter)).toBe(true);
      // The window is 60 s counted in 1-s buckets, so the wait is at most 61 s.
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(61);
    }

    // The window is still full for every replica.
    for (const r of replicas) expect((await chat(r.url, rpmKey.key, body)).status).toBe(429);
  });

  it("a team rpmLimit of 30 is shared by the team's keys over all replicas", async () => {
    onTestFailed(() => console.error(world.logs()));
    const body = {
      model: PRICED_MODEL.name,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 16,
    };
    // Request i goes to replica i mod 3 with key i mod 2: every replica sees both keys.
    const replies = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        chat(
          (replicas[i % REPLICAS] as Replica).url,
          (squadKeys[i % 2] as { key: string }).key,
          body,
        ),
      ),
    );
    expect(countBy(replies, (r) => r.status)).toEqual({ 200: 30, 429: 60 });
    const ok = replies.filter((r) => r.status === 200);
    for (const reply of ok) expect(header(reply, "x-ratelimit-limit-requests")).toBe("30");
    const remaining = ok
      .map((r) => Number(header(r, "x-ratelimit-remaining-requests")))
      .sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (const reply of replies.filter((r) => r.status === 429)) {
      const err = errorOf(reply);
      expect(err.code).toBe("rate_limit_exceeded");
      expect(err.message).toMatch(/team/i);
      expect(Number(header(reply, "retry-after"))).toBeGreaterThanOrEqual(1);
    }
  });

  it("a $1 hard budget holds against 50 concurrent streams over all replicas, and spent equals the recorded costs", async () => {
    onTestFailed(() => console.error(world.logs()));
    // Streams last ~2 s (150 ms between events) so the requests overlap: every one of them
    // reserves while many others still hold their reservation.
    world.mock.setFault("slow-stream:150");
    const startedAt = new Date();
    const maxTokens = 1500;
    const body = {
      model: PRICED_MODEL.name,
      messages: [{ role: "user", content: "Say something short." }],
      max_tokens: maxTokens,
      stream: true,
      stream_options: { include_usage: true },
    };
    let replies: { replica: string; reply: Reply }[];
    try {
      replies = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const replica = replicas[i % REPLICAS] as Replica;
          return { replica: replica.name, reply: await chat(replica.url, budgetKey.key, body) };
        }),
      );
    } finally {
      world.mock.setFault(null);
    }

    /*
     * Prices: $100 per million tokens in and out (PRICED_MODEL).
     * Reservation R = (estimated input + max_tokens 1500) × $0.0001. The prompt is 20
     * characters, so any estimator gives well under 166 tokens: $0.15 ≤ R < $0.1666,
     * hence floor($1 / R) = 6.
     * The mock's recorded stream reports usage 1248 input + 10 output tokens, so every
     * stream costs exactly c = 1258 × $0.0001 = $0.1258 (< R).
     * Bound: a reservation is admitted only if spent + reserved + R ≤ $1, and each settle
     * replaces an R by c ≤ R, so spent never passes $1: the final spent n × c ≤ $1, i.e.
     * n ≤ floor($1 / c) = 7. And no request is refused while fewer than 6 are admitted
     * (k admitted hold at most k × R), so n ≥ 6. (Were c > R, spent could pass the limit
     * by at most n × (c − R): what settles above its reservation.)
     */
    const costNanoUsd = 1258n * 100_000n; // 1258 tokens × 100,000 nano-USD per token
    const limitNanoUsd = NANO_PER_USD;
    const ok = replies.filter((r) => r.reply.status === 200);
    const refused = replies.filter((r) => r.reply.status === 429);
    expect(ok.length + refused.length).toBe(50);
    expect(ok.length).toBeGreaterThanOrEqual(6);
    expect(ok.length).toBeLessThanOrEqual(Number(limitNanoUsd / costNanoUsd)); // 7

    for (const { reply } of ok) {
      expect(reply.text).toContain('"usage":{"prompt_tokens":1248');
      expect(reply.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    }
    for (const { reply } of refused) {
      const err = errorOf(reply);
      expect(err.code).toBe("budget_exceeded");
      expect(err.message).toContain("one-dollar"); // names the key's budget
      const retryAfter = Number(header(reply, "retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter > 0).toBe(true);
    }

    // Settling happens after the response ends: wait until no reservation is left.
    const period = { id: budgetId, periodStart: periodStart("month", "UTC", startedAt) };
    const state = await pollUntil(
      "budget reservations to be settled",
      async () => {
        const s = await readBudget(world.redis, period, { prefix: world.limitsPrefix });
        return s.reservedNanoUsd === 0n ? s : null;
      },
      10_000,
    );
    // The costs the replicas reported, from the usage events they enqueued (one per request).
    const events = await Promise.all(
      replies.map((r) => usageEventFor(world.usageQueue, header(r.reply, "x-request-id") ?? "")),
    );
    let reported = 0n;
    for (const [i, e] of events.entries()) {
      if (replies[i]?.reply.status === 200) expect(e.costNanoUsd).toBe(costNanoUsd.toString());
      reported += BigInt(e.costNanoUsd ?? "0");
    }
    expect(reported).toBe(BigInt(ok.length) * costNanoUsd);
    expect(state.spentNanoUsd).toBe(reported);
    expect(state.spentNanoUsd).toBeLessThanOrEqual(limitNanoUsd);
  });

  it("TPM counts each request's actual tokens across replicas (estimate corrected after the call)", async () => {
    onTestFailed(() => console.error(world.logs()));
    const body = {
      model: PRICED_MODEL.name,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 400,
    };
    // Admission counts only the input estimate (a few tokens each), so all 30 pass...
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        chat((replicas[i % REPLICAS] as Replica).url, tpmKeyRow.key, body),
      ),
    );
    expect(countBy(replies, (r) => r.status)).toEqual({ 200: 30 });
    // ...and after each response the window is corrected to what the provider reported.
    await pollUntil(
      "the TPM window to hold the actual tokens",
      async () =>
        (await tokensCounted(world.redis, "key", tpmKeyRow.id, { prefix: world.limitsPrefix })) === 30 * 379,
      10_000,
    );
    // The window is now exactly full, for every replica.
    for (const r of replicas) {
      const reply = await chat(r.url, tpmKeyRow.key, body);
      expect(reply.status).toBe(429);
      expect(errorOf(reply).message).toMatch(/tpm/);
      expect(header(reply, "x-ratelimit-limit-tokens")).toBe(String(30 * 379));
      expect(header(reply, "x-ratelimit-remaining-tokens")).toBe("0");
    }
  });

  it("streams cut by the client settle too: no reservation is left and spent equals the recorded costs", async () => {
    onTestFailed(() => console.error(world.logs()));
    world.mock.setFault("slow-stream:150");
    const startedAt = new Date();
    const body = {
      model: PRICED_MODEL.name,
      messages: [{ role: "user", content: "Tell me a story." }],
      max_tokens: 1500,
    };
    let cut: { status: number; requestId: string }[];
    try {
      cut = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          chatAbortedMidStream((replicas[i % REPLICAS] as Replica).url, abortKey.key, body),
        ),
      );
    } finally {
      world.mock.setFault(null);
    }
    expect(cut.map((c) => c.status)).toEqual(Array.from({ length: 30 }, () => 200));

    const period = { id: abortBudgetId, periodStart: periodStart("month", "UTC", startedAt) };
    const state = await pollUntil(
      "reservations of the cut streams to be settled",
      async () => {
        const s = await readBudget(world.redis, period, { prefix: world.limitsPrefix });
        return s.reservedNanoUsd === 0n ? s : null;
      },
      10_000,
    );
    // A cut stream carries no provider usage: the replica estimates it (the provider bills
    // what it generated), that cost reaches the budget, and the reservation does not linger.
    const events = await Promise.all(cut.map((c) => usageEventFor(world.usageQueue, c.requestId)));
    for (const e of events) {
      expect(e.status).toBe(499);
      expect(e.usageSource).toBe("estimated");
      expect(e.usage.inputTokens).toBeGreaterThan(0);
      expect(BigInt(e.costNanoUsd ?? "0")).toBeGreaterThan(0n);
    }
    const reported = events.reduce((sum, e) => sum + BigInt(e.costNanoUsd ?? "0"), 0n);
    expect(state.spentNanoUsd).toBe(reported);
  });

  it("a revoked key gets 401 from every replica within 1 s of the change notice", async () => {
    onTestFailed(() => console.error(world.logs()));
    const body = {
      model: PRICED_MODEL.name,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 16,
    };
    for (const r of replicas) expect((await chat(r.url, revokeKey.key, body)).status).toBe(200);

    await world.prisma.virtualKey.update({
      where: { id: revokeKey.id },
      data: { revokedAt: new Date() },
    });
    const publishedAt = Date.now();
    await world.publishConfigChanged();
    // The periodic refresh is 10 minutes here, so only the pub/sub notice can do this.
    const elapsed = await Promise.all(
      replicas.map(async (r) => {
        const reply = await pollUntil(
          `${r.name} to refuse the revoked key`,
          async () => {
            // The lightest authenticated request: no upstream call.
            const res = await listModels(r.url, revokeKey.key);
            return res.status === 401 ? res : null;
          },
          1000,
        );
        expect(errorOf(reply).code).toBe("invalid_api_key");
        return Date.now() - publishedAt;
      }),
    );
    for (const ms of elapsed) expect(ms).toBeLessThanOrEqual(1000);
  });

  it("a revocation whose notice is lost reaches a replica at its periodic refresh", async () => {
    onTestFailed(() => console.error(world.logs()));
    // A fourth replica refreshing every 500 ms; nothing is published this time.
    const [late] = await world.startReplicas(1, {
      PROXY_SNAPSHOT_REFRESH_MS: "500",
    });
    const url = (late as Replica).url;
    const body = {
      model: PRICED_MODEL.name,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 16,
    };
    expect((await chat(url, lostNoticeKey.key, body)).status).toBe(200);
    await world.prisma.virtualKey.update({
      where: { id: lostNoticeKey.id },
      data: { revokedAt: new Date() },
    });
    await pollUntil(
      "the periodic refresh to drop the key",
      async () => (await listModels(url, lostNoticeKey.key)).status === 401,
      5000,
    );
  });
});
