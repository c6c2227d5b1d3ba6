import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "@switchyard/db";
import { syncHealth, transitionCircuits } from "@switchyard/limits";
import {
  collectConfigNotices,
  dashboardEnv,
  launchChromium,
  openTestDatabase,
  seedAcme,
  signIn,
  startDashboard,
  type Browser,
  type RunningDashboard,
} from "./browser";

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15";
// The dashboard reads health under this prefix; unique so no other run's counters show.
const LIMITS_PREFIX = `sy-browser-routes-${process.pid}-${Date.now()}:`;
const ENCRYPTION_KEY = "ef".repeat(32);
const PASSWORD = "a long enough password";
const ADMIN = "olga@acme.test";
const MEMBER = "mike@acme.test";

let prisma: PrismaClient;
let redis: Redis;
let sub: Redis;
const notices: string[] = [];
let dashboard: RunningDashboard | undefined;
let browser: Browser | undefined;
let page: Page;
let baseUrl = "";
let acmeId = "";

const routeRow = (alias: string) => page.locator(`[data-testid="route-row"][data-alias="${alias}"]`);
const healthRow = (model: string) => page.locator(`[data-testid="health-row"][data-model="${model}"]`);
const modelRow = (model: string) => page.locator(`[data-testid="model-row"][data-model="${model}"]`);

async function waitForNotices(kind: string, count: number) {
  const deadline = Date.now() + 5000;
  const matching = () => notices.filter((n) => (JSON.parse(n) as { kind: string }).kind === kind).length;
  while (matching() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return matching();
}

beforeAll(async () => {
  const db = await openTestDatabase("switchyard_test_dashboard_routes_browser");
  prisma = db.prisma;
  const { org } = await seedAcme(prisma, {
    password: PASSWORD,
    admin: { email: ADMIN, name: "Olga" },
    member: { email: MEMBER, name: "Mike" },
  });
  acmeId = org.id;
  const provider = await prisma.providerCredential.create({
    data: { slug: "openai-main", type: "openai", source: "CONFIG_FILE" },
  });
  await prisma.model.createMany({
    data: [
      { name: "gpt-4o-mini", providerId: provider.id, upstreamModel: "gpt-4o-mini", source: "CONFIG_FILE" },
      { name: "claude-haiku", providerId: provider.id, upstreamModel: "claude-3-5-haiku", source: "CONFIG_FILE" },
      { name: "acme-llama", providerId: provider.id, upstreamModel: "llama3-acme", orgId: org.id },
    ],
  });
  await prisma.route.create({
    data: { alias: "default-chat", strategy: "fallback", targets: [{ model: "gpt-4o-mini" }], source: "CONFIG_FILE" },
  });

  // What the proxies share: claude-haiku failed 6 of 10 attempts and its circuit opened.
  redis = new Redis(REDIS_URL);
  const now = Date.now();
  await syncHealth(redis, LIMITS_PREFIX, {
    nowMs: now,
    targets: [],
    deltas: [
      { target: "claude-haiku", bucketStartMs: now - (now % 10_000), ok: 4, errors: 6, latencySumMs: 2000, latencyCount: 4 },
      { target: "gpt-4o-mini", bucketStartMs: now - (now % 10_000), ok: 20, errors: 0, latencySumMs: 4000, latencyCount: 20 },
    ],
  });
  // A long open period, so the circuit is still open whenever the page looks.
  await transitionCircuits(redis, LIMITS_PREFIX, [{ target: "claude-haiku", from: ["closed"], to: "open" }], {
    nowMs: now,
    openMs: 600_000,
    maxOpenMs: 600_000,
  });

  sub = await collectConfigNotices(REDIS_URL, notices);
  dashboard = await startDashboard(
    dashboardEnv({
      DATABASE_URL: db.databaseUrl,
      REDIS_URL,
      SWITCHYARD_ENCRYPTION_KEY: ENCRYPTION_KEY,
      SWITCHYARD_LIMITS_PREFIX: LIMITS_PREFIX,
    }),
  );
  baseUrl = dashboard.baseUrl;
  browser = await launchChromium();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  sub?.disconnect();
  if (redis) {
    const keys = await redis.keys(`${LIMITS_PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  await prisma?.$disconnect();
});

describe("Routes, Models and Health pages in Chromium", () => {
  it("lets an org admin create a weighted route in the form and lists it", async () => {
    await signIn(page, baseUrl, ADMIN, PASSWORD);
    await page.getByTestId("nav-routes").click();
    await page.waitForURL(`${baseUrl}/routes`);
    // The config-file route is listed read-only.
    await routeRow("default-chat").waitFor();
    expect(await routeRow("default-chat").getByTestId("route-readonly").textContent()).toBe("switchyard.yaml");
    expect(await routeRow("default-chat").getByTestId("route-edit").count()).toBe(0);

    await page.getByTestId("route-alias").fill("acme-chat");
    await page.getByTestId("route-strategy").selectOption("weighted");
    await page.getByTestId("route-target-model-0").selectOption("gpt-4o-mini");
    await page.getByTestId("route-target-weight-0").fill("3");
    await page.getByTestId("route-target-add").click();
    await page.getByTestId("route-target-model-1").selectOption("acme-llama");
    await page.getByTestId("route-target-weight-1").fill("1");
    await page.getByTestId("route-sticky").check();
    await page.getByTestId("route-max-default").fill("256");
    await page.getByTestId("route-max-cap").fill("2048");
    await page.getByTestId("route-cache").check();
    await page.getByTestId("route-cache-ttl").fill("600");
    await page.getByTestId("route-save").click();

    await routeRow("acme-chat").waitFor();
    expect(await routeRow("acme-chat").getByTestId("route-strategy-cell").textContent()).toBe("weighted (sticky)");
    expect(await routeRow("acme-chat").getByTestId("route-target").allTextContents()).toEqual(["gpt-4o-mini ×3", "acme-llama ×1"]);
    expect(await routeRow("acme-chat").getByTestId("route-max-tokens").textContent()).toBe("default 256, cap 2048");
    expect(await routeRow("acme-chat").getByTestId("route-cache-summary").textContent()).toBe("600 s, per org");

    const stored = await prisma.route.findUniqueOrThrow({ where: { alias: "acme-chat" } });
    expect(stored).toMatchObject({ orgId: acmeId, source: "DASHBOARD", strategy: "weighted" });
    expect(stored.targets).toEqual([
      { model: "gpt-4o-mini", weight: 3 },
      { model: "acme-llama", weight: 1 },
    ]);
    expect(stored.options).toEqual({ sticky: true, maxTokens: { default: 256, cap: 2048 }, cache: { ttlSeconds: 600, scope: "org" } });
    expect(await waitForNotices("routes", 1)).toBe(1);
  });

  it("shows the server's refusal and saves nothing for a bad route", async () => {
    // An alias that is a model name would never be used.
    await page.getByTestId("route-alias").fill("claude-haiku");
    await page.getByTestId("route-save").click();
    const error = page.getByTestId("form-error");
    await error.waitFor();
    expect(await error.textContent()).toContain("already a model name");
    expect(await prisma.route.count({ where: { alias: "claude-haiku" } })).toBe(0);
  });

  it("lets the org admin edit the route", async () => {
    await routeRow("acme-chat").getByTestId("route-edit").click();
    expect(await page.getByTestId("route-alias").inputValue()).toBe("acme-chat");
    expect(await page.getByTestId("route-target-weight-0").inputValue()).toBe("3");
    await page.getByTestId("route-target-weight-1").fill("2");
    await page.getByTestId("route-retry-attempts").fill("2");
    await page.getByTestId("route-save").click();

    await routeRow("acme-chat").getByTestId("route-target").filter({ hasText: "acme-llama ×2" }).waitFor();
    const stored = await prisma.route.findUniqueOrThrow({ where: { alias: "acme-chat" } });
    expect(stored.targets).toEqual([
      { model: "gpt-4o-mini", weight: 3 },
      { model: "acme-llama", weight: 2 },
    ]);
    expect(stored.options).toMatchObject({ sticky: true, retry: { maxAttempts: 2 } });
    // The form is back to adding a new route.
    expect(await page.getByTestId("route-alias").inputValue()).toBe("");
    expect(await waitForNotices("routes", 2)).toBe(2);
    await page.screenshot({ path: path.join(tmpdir(), "switchyard-dashboard-routes.png"), fullPage: true });
  });

  it("lets the org admin set a capability of a custom model, marked as an override", async () => {
    await page.getByTestId("nav-models").click();
    await page.waitForURL(`${baseUrl}/models`);
    await modelRow("gpt-4o-mini").waitFor();
    expect(await modelRow("gpt-4o-mini").getByTestId("model-readonly").textContent()).toBe("set in switchyard.yaml");
    await modelRow("acme-llama").getByTestId("model-edit").click();
    await page.getByTestId("capabilities-contextWindow").fill("8192");
    await page.getByTestId("capabilities-tools").selectOption("no");
    await page.getByTestId("capabilities-save").click();
    await page.getByTestId("capabilities-form").waitFor({ state: "detached" });
    const cell = modelRow("acme-llama").getByTestId("cap-contextWindow");
    await cell.filter({ hasText: "8,192" }).waitFor();
    expect(await cell.getAttribute("data-source")).toBe("override");
    expect(await modelRow("acme-llama").getByTestId("cap-tools").textContent()).toContain("no");
    expect((await prisma.model.findUniqueOrThrow({ where: { name: "acme-llama" } })).capabilities).toEqual({
      contextWindow: 8192,
      tools: false,
    });
    await page.screenshot({ path: path.join(tmpdir(), "switchyard-dashboard-models.png"), fullPage: true });
  });

  it("shows an open circuit on the Health page for the model the proxies saw failing", async () => {
    await page.getByTestId("nav-health").click();
    await page.waitForURL(`${baseUrl}/health`);
    await healthRow("claude-haiku").waitFor();
    expect(await healthRow("claude-haiku").getAttribute("data-state")).toBe("open");
    expect(await healthRow("claude-haiku").getByTestId("health-state").textContent()).toBe("open");
    expect(await healthRow("claude-haiku").getByTestId("health-requests").textContent()).toBe("10");
    expect(await healthRow("claude-haiku").getByTestId("health-error-rate").textContent()).toBe("60.0%");
    expect(await healthRow("claude-haiku").getByTestId("health-latency").textContent()).toBe("500 ms");
    expect(await healthRow("claude-haiku").getByTestId("health-open-until").textContent()).toMatch(/UTC$/);
    expect(await healthRow("gpt-4o-mini").getAttribute("data-state")).toBe("closed");
    expect(await healthRow("gpt-4o-mini").getByTestId("health-error-rate").textContent()).toBe("0.0%");
    expect(await healthRow("acme-llama").getByTestId("health-error-rate").textContent()).toBe("—");
    expect(await page.getByTestId("health-summary").textContent()).toContain("last 2 min");

    // The page refreshes by itself: the circuit closing shows without a reload.
    await transitionCircuits(redis, LIMITS_PREFIX, [{ target: "claude-haiku", from: ["open"], to: "closed" }]);
    await page.locator('[data-testid="health-row"][data-model="claude-haiku"][data-state="closed"]').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(tmpdir(), "switchyard-dashboard-health.png"), fullPage: true });
  });

  it("shows a member the routes without any way to change them", async () => {
    await page.getByTestId("sign-out").click();
    await page.waitForURL(`${baseUrl}/sign-in`);
    await signIn(page, baseUrl, MEMBER, PASSWORD);
    await page.goto(`${baseUrl}/routes`);
    await routeRow("acme-chat").waitFor();
    expect(await page.getByTestId("route-edit").count()).toBe(0);
    expect(await page.getByTestId("route-form").count()).toBe(0);
  });
});
