/**
 * One real request carried end to end: the official OpenAI SDK → proxy → mock upstream
 * replaying recorded OpenAI responses → UsageEvent on BullMQ → worker → Postgres →
 * the signed-in dashboard in headless Chromium. Every part is its own process, as a
 * user runs it (built apps, the CLI for setup).
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { chromium, type Browser } from "playwright-core";
import { Redis } from "ioredis";
import { startMockUpstream } from "@switchyard/mock-upstream";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { computeCostNanoUsd, formatNanoUsd } from "@switchyard/pricing";
import { cli, freePort, httpOk, proxyArgs, repoRoot, startProcess, waitFor, type Proc } from "./harness";

const REDIS_URL = "redis://127.0.0.1:6379/5";
const PRICING = { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075" };
const PASSWORD = "e2e-password-123";

const fixturesDir = path.join(repoRoot, "tooling/mock-upstream/fixtures");
const recordedCompletion = JSON.parse(readFileSync(path.join(fixturesDir, "openai__chat-text__vercel-ai.json"), "utf8")) as {
  choices: { message: { content: string } }[];
  usage: { prompt_tokens: number; completion_tokens: number };
};
const recordedStream = readFileSync(path.join(fixturesDir, "openai__chat-text-stream-sse__helicone.sse"), "utf8")
  .split("\n")
  .filter((l) => l.startsWith("data: {"))
  .map((l) => JSON.parse(l.slice(6)) as { choices: { delta?: { content?: string } }[]; usage: { prompt_tokens: number; completion_tokens: number } | null });
const recordedStreamText = recordedStream.map((c) => c.choices[0]?.delta?.content ?? "").join("");
const recordedStreamUsage = recordedStream.find((c) => c.usage)!.usage!;

let prisma: PrismaClient;
let mock: Awaited<ReturnType<typeof startMockUpstream>>;
let env: NodeJS.ProcessEnv;
let procs: Proc[] = [];
let browser: Browser | undefined;
let tmp: string;
let apiKey: string;
let proxyUrl: string;
let dashboardUrl: string;

beforeAll(async () => {
  const databaseUrl = await prepareTestDatabase("switchyard_test_e2e");
  prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await redis.quit();

  mock = await startMockUpstream({ port: 0 });
  tmp = mkdtempSync(path.join(os.tmpdir(), "switchyard-e2e-"));
  const [proxyPort, dashboardPort] = [await freePort(), await freePort()];
  proxyUrl = `http://127.0.0.1:${proxyPort}`;
  dashboardUrl = `http://127.0.0.1:${dashboardPort}`;
  env = {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    SWITCHYARD_ENCRYPTION_KEY: "7".repeat(64),
    PROXY_PORT: String(proxyPort),
    DASHBOARD_PORT: String(dashboardPort),
    PROXY_SPOOL_DIR: path.join(tmp, "spool"),
    WORKER_BATCH_WAIT_MS: "50",
    LOG_LEVEL: "warn",
  };

  // Set up as an operator would: config as code, then org, team, user and key by CLI.
  const configFile = path.join(tmp, "switchyard.yaml");
  writeFileSync(
    configFile,
    `providers:
  - { id: mock-openai, type: openai, baseUrl: "${mock.url}", apiKey: "upstream-secret" }
models:
  - name: e2e-mini
    provider: mock-openai
    upstreamModel: gpt-4o-mini
    pricing: { inputPerMTok: "${PRICING.inputPerMTok}", outputPerMTok: "${PRICING.outputPerMTok}", cachedInputPerMTok: "${PRICING.cachedInputPerMTok}" }
`,
  );
  await cli(["config", "apply", configFile], env);
  await cli(["orgs", "create", "acme"], env);
  await cli(["teams", "create", "web", "--org", "acme"], env);
  await cli(["users", "create", "lead@acme.test", "--org", "acme", "--role", "org_admin", "--password", PASSWORD], env);
  const created = await cli<{ key: string }>(["keys", "create", "--team", "web", "--org", "acme", "--name", "e2e"], env);
  apiKey = created.key;
  expect(apiKey).toMatch(/^sk-sy-/);

  procs = [
    startProcess("proxy", process.execPath, proxyArgs, env),
    startProcess("worker", process.execPath, ["apps/worker/dist/main.js"], env),
    startProcess("dashboard", "pnpm", ["--filter", "@switchyard/dashboard", "start"], env),
  ];
  await waitFor("proxy ready", async () => (await fetch(`${proxyUrl}/readyz`)).ok, 60_000, procs);
  await waitFor("dashboard up", () => httpOk(`${dashboardUrl}/sign-in`), 120_000, procs);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await mock?.close();
  await prisma?.$disconnect();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("a request carried end to end", () => {
  const requestIds: string[] = [];
  /** x-switchyard-cost-usd of each non-streaming request, as the client got it. */
  const clientCosts: string[] = [];

  it("answers a non-streaming completion through the OpenAI SDK with the recorded reply and its cost", async () => {
    const client = new OpenAI({ apiKey, baseURL: `${proxyUrl}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: "e2e-mini", messages: [{ role: "user", content: "Invent a holiday" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(recordedCompletion.choices[0]?.message.content);
    expect(data.usage?.prompt_tokens).toBe(recordedCompletion.usage.prompt_tokens);
    expect(response.headers.get("x-switchyard-provider")).toBe("mock-openai");
    expect(response.headers.get("x-switchyard-model")).toBe("e2e-mini");
    const expected = computeCostNanoUsd(
      { inputTokens: 16, outputTokens: 363, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
      PRICING,
    );
    expect(expected).toBe(220_200n); // 16 × $0.15/M + 363 × $0.60/M, worked by hand
    expect(Number(response.headers.get("x-switchyard-cost-usd"))).toBeCloseTo(Number(formatNanoUsd(expected)), 12);
    clientCosts.push(response.headers.get("x-switchyard-cost-usd")!);
    requestIds.push(response.headers.get("x-request-id")!);
    // The upstream saw the upstream model name and the provider key, never the virtual key.
    const seen = mock.requests.at(-1)!;
    expect((seen.body as { model: string }).model).toBe("gpt-4o-mini");
    expect(seen.headers.authorization).toBe("Bearer upstream-secret");
  });

  it("streams a completion chunk by chunk and takes usage from the final chunk", async () => {
    const client = new OpenAI({ apiKey, baseURL: `${proxyUrl}/v1`, maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: "e2e-mini", messages: [{ role: "user", content: "Hello" }], stream: true })
      .withResponse();
    let text = "";
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? "";
    }
    expect(text).toBe(recordedStreamText);
    expect(chunks).toBeGreaterThan(5);
    requestIds.push(response.headers.get("x-request-id")!);
    // The proxy asked the provider for usage even though the client did not.
    const seen = mock.requests.at(-1)!;
    expect((seen.body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage).toBe(true);
  });

  it("rejects a wrong key with OpenAI's 401 shape", async () => {
    const client = new OpenAI({ apiKey: "sk-sy-not-a-real-key", baseURL: `${proxyUrl}/v1`, maxRetries: 0 });
    await expect(client.chat.completions.create({ model: "e2e-mini", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
      status: 401,
    });
  });

  it("lands both requests in Postgres once, with tokens and exact cost", async () => {
    const rows = await waitFor(
      "request log rows",
      async () => {
        const r = await prisma.requestLog.findMany({ where: { requestId: { in: requestIds } }, orderBy: { createdAt: "asc" } });
        return r.length === 2 ? r : undefined;
      },
      30_000,
      procs,
    );
    const [plain, streamed] = rows;
    expect(plain).toMatchObject({ inputTokens: 16, outputTokens: 363, costNanoUsd: 220_200n, stream: false, status: 200, servedModel: "e2e-mini" });
    const streamCost = computeCostNanoUsd(
      { inputTokens: recordedStreamUsage.prompt_tokens, outputTokens: recordedStreamUsage.completion_tokens, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
      PRICING,
    );
    expect(streamed).toMatchObject({
      inputTokens: recordedStreamUsage.prompt_tokens,
      outputTokens: recordedStreamUsage.completion_tokens,
      costNanoUsd: streamCost,
      stream: true,
      status: 200,
    });
    const rollups = await prisma.usageRollup.findMany();
    expect(rollups.reduce((s, r) => s + r.requests, 0)).toBe(2);
    expect(rollups.reduce((s, r) => s + r.costNanoUsd, 0n)).toBe(220_200n + streamCost);
    // The 401 was not attributed to anyone and wrote nothing.
    expect(await prisma.requestLog.count()).toBe(2);
  });

  it("shows those requests and their cost on the signed-in dashboard in Chromium", async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    const page = await browser.newPage();
    await page.goto(`${dashboardUrl}/`);
    await page.waitForURL(/\/sign-in/);
    await page.getByTestId("sign-in-email").fill("lead@acme.test");
    await page.getByTestId("sign-in-password").fill(PASSWORD);
    await page.getByTestId("sign-in-submit").click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));

    await expect.poll(async () => page.getByTestId("total-requests").innerText(), { timeout: 20_000 }).toContain("2");
    // $0.0002202 + $0.0001932 = $0.0004134, exact to the nano-dollar
    expect(await page.getByTestId("total-spend").getAttribute("data-value")).toBe(formatNanoUsd(220_200n + 193_200n));

    await page.goto(`${dashboardUrl}/requests`);
    const rows = page.getByTestId("request-row");
    await expect.poll(async () => rows.count(), { timeout: 20_000 }).toBe(2);
    const text = await page.getByTestId("requests-table").innerText();
    expect(text).toContain("e2e-mini");
    expect(text).toContain("363");
  });
  it("shows the exact costs the client got on the overview, the analytics breakdowns and their CSV", async () => {
    // One more request, attributed to an end user and tagged.
    const client = new OpenAI({ apiKey, baseURL: `${proxyUrl}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions
      .create(
        // A prompt of its own, so no response cache can answer it.
        { model: "e2e-mini", messages: [{ role: "user", content: "Invent a holiday for the analytics page" }] },
        { headers: { "x-switchyard-user": "user-e2e", "x-switchyard-tags": "feature=e2e-search,env=test" } },
      )
      .withResponse();
    const taggedCost = response.headers.get("x-switchyard-cost-usd")!;
    expect(taggedCost).toMatch(/^\d+\.\d{9}$/);
    clientCosts.push(taggedCost);
    await waitFor("the tagged request in the log", async () => ((await prisma.requestLog.count()) === 3 ? true : undefined), 30_000, procs);

    const streamed = await prisma.requestLog.findFirstOrThrow({ where: { stream: true } });
    // Streams carry no cost header; their cost is the one the log holds (asserted exact above).
    const total = clientCosts.reduce((sum, usd) => sum + toNano(usd), 0n) + streamed.costNanoUsd!;
    const page = await browser!.newPage();
    await page.goto(`${dashboardUrl}/sign-in`);
    await page.getByTestId("sign-in-email").fill("lead@acme.test");
    await page.getByTestId("sign-in-password").fill(PASSWORD);
    await page.getByTestId("sign-in-submit").click();
    await page.waitForURL((u) => !u.pathname.startsWith("/sign-in"));
    await expect.poll(async () => page.getByTestId("total-requests").getAttribute("data-value"), { timeout: 20_000 }).toBe("3");
    expect(await page.getByTestId("total-spend").getAttribute("data-value")).toBe(formatNanoUsd(total));

    await page.goto(`${dashboardUrl}/analytics`);
    const breakdown = async () => {
      await page.waitForFunction(() => document.querySelector('[data-testid="breakdown"]')?.getAttribute("aria-busy") === "false");
      return page.getByTestId("breakdown-row").evaluateAll((rows) =>
        rows.map((row) => ["name", "requests", "spend"].map((id) => row.querySelector(`[data-testid="cell-${id}"]`)?.getAttribute("data-value"))),
      );
    };
    // Default grouping: by model.
    await expect.poll(breakdown, { timeout: 20_000 }).toEqual([["e2e-mini", "3", formatNanoUsd(total)]]);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("breakdown-csv").click()]);
    const csv = readFileSync(await download.path(), "utf8");
    expect(csv.split("\r\n")[1]).toMatch(new RegExp(`^e2e-mini,3,${formatNanoUsd(total).replace(".", "\\.")},`));

    await page.getByTestId("group-by").selectOption("user");
    await expect.poll(breakdown, { timeout: 20_000 }).toEqual([["user-e2e", "1", taggedCost]]);
    await page.getByTestId("group-by").selectOption("tag:feature");
    await expect.poll(breakdown, { timeout: 20_000 }).toEqual([["e2e-search", "1", taggedCost]]);
    const [tagDownload] = await Promise.all([page.waitForEvent("download"), page.getByTestId("breakdown-csv").click()]);
    expect(readFileSync(await tagDownload.path(), "utf8").split("\r\n")[1]).toMatch(new RegExp(`^e2e-search,1,${taggedCost.replace(".", "\\.")},`));
  });
});

/** "0.000220200" (a cost header) → nano-USD, exactly. */
function toNano(usd: string): bigint {
  const [whole = "0", frac = ""] = usd.split(".");
  return BigInt(whole) * 1_000_000_000n + BigInt(frac.padEnd(9, "0").slice(0, 9));
}
