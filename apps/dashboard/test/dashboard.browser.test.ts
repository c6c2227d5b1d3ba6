import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { launchChromium, startDashboard, type Browser, type RunningDashboard } from "./browser";
import {
  addMembership,
  createKey,
  createUserWithPassword,
  insertRequestLog,
  insertRollups,
} from "./fixtures";

const EMAIL = "dana@acme.test";
const PASSWORD = "a long enough password";
const HOUR = 3_600_000;

let prisma: PrismaClient;
let dashboard: RunningDashboard | undefined;
let browser: Browser | undefined;
let page: Page;
let baseUrl = "";

async function seed(db: PrismaClient) {
  const now = Date.now();
  const thisHour = new Date(Math.floor(now / HOUR) * HOUR);
  const org = await db.organization.create({ data: { slug: "acme", name: "Acme Corp" } });
  const mine = await db.team.create({
    data: { orgId: org.id, slug: "platform", name: "Platform" },
  });
  const theirs = await db.team.create({
    data: { orgId: org.id, slug: "research", name: "Research" },
  });
  const user = await createUserWithPassword(db, EMAIL, PASSWORD, "Dana");
  await addMembership(db, user.id, org.id, "MEMBER", mine.id);
  const key = await createKey(db, mine, "platform-prod", {
    allowedModels: ["gpt-4o-mini"],
    rpmLimit: 120,
  });
  const otherKey = await createKey(db, theirs, "research-prod");

  await insertRollups(db, [
    {
      bucket: new Date(thisHour.getTime() - 2 * HOUR),
      key,
      requests: 7,
      errors: 1,
      inputTokens: 7000n,
      outputTokens: 1400n,
      costNanoUsd: 1_500_000_000n,
    },
    {
      bucket: new Date(thisHour.getTime() - HOUR),
      key,
      requests: 5,
      inputTokens: 2500n,
      outputTokens: 600n,
      costNanoUsd: 2_255_000_000n,
    },
    {
      bucket: thisHour,
      key,
      model: "local-llama",
      requests: 2,
      unpricedRequests: 2,
      inputTokens: 100n,
      outputTokens: 50n,
      costNanoUsd: 0n,
    },
    // Another team's usage: must not show up for this user.
    { bucket: thisHour, key: otherKey, requests: 1000, costNanoUsd: 500_000_000_000n },
  ]);
  await insertRequestLog(db, key, {
    requestId: "req-browser-priced",
    createdAt: new Date(now - 30 * 60_000),
    requestedModel: "default-chat",
    servedModel: "gpt-4o-mini",
    costNanoUsd: 1_234_000n,
    inputTokens: 1200,
    outputTokens: 345,
  });
  await insertRequestLog(db, key, {
    requestId: "req-browser-unpriced",
    createdAt: new Date(now - 20 * 60_000),
    requestedModel: "local-llama",
    servedModel: "llama3",
    costNanoUsd: null,
    stream: true,
    ttftMs: 180,
  });
  await insertRequestLog(db, key, {
    requestId: "req-browser-error",
    createdAt: new Date(now - 10 * 60_000),
    status: 429,
    costNanoUsd: 0n,
    inputTokens: 0,
    outputTokens: 0,
  });
  await insertRequestLog(db, otherKey, {
    requestId: "req-other-team",
    createdAt: new Date(now - 5 * 60_000),
    costNanoUsd: 1n,
  });
}

beforeAll(async () => {
  // A database of its own: the unit project truncates switchyard_test_dashboard.
  const databaseUrl = await prepareTestDatabase("switchyard_test_dashboard_browser");
  prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  await seed(prisma);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    SWITCHYARD_ENCRYPTION_KEY: "ab".repeat(32),
  };
  // Exercise the defaults: secret derived from the encryption key, URL from the port.
  delete env.BETTER_AUTH_SECRET;
  delete env.BETTER_AUTH_URL;
  dashboard = await startDashboard(env);
  baseUrl = dashboard.baseUrl;
  browser = await launchChromium();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await prisma?.$disconnect();
});

describe("dashboard in Chromium", () => {
  it("sends visitors without a session to /sign-in", async () => {
    await page.goto(`${baseUrl}/requests`);
    await page.waitForURL(`${baseUrl}/sign-in`);
    await expect(page.getByTestId("sign-in-form").isVisible()).resolves.toBe(true);
  });

  it("shows a clear error for a wrong password and stays on the form", async () => {
    await page.goto(`${baseUrl}/sign-in`);
    await page.getByTestId("sign-in-email").fill(EMAIL);
    await page.getByTestId("sign-in-password").fill("not the password");
    await page.getByTestId("sign-in-submit").click();
    const error = page.getByTestId("sign-in-error");
    await error.waitFor();
    expect(await error.textContent()).toContain("Invalid email or password");
    expect(page.url()).toBe(`${baseUrl}/sign-in`);
  });

  it("signs in and shows the seeded totals of the user's team on the overview", async () => {
    await page.getByTestId("sign-in-password").fill(PASSWORD);
    await page.getByTestId("sign-in-submit").click();
    await page.waitForURL(`${baseUrl}/`);
    const requests = page.getByTestId("total-requests");
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="overview-cards"]')?.getAttribute("aria-busy") ===
        "false",
    );
    expect(await requests.textContent()).toBe("14");
    const spend = page.getByTestId("total-spend");
    expect(await spend.getAttribute("data-value")).toBe("3.755000000");
    expect(await spend.textContent()).toBe("$3.76");
    expect(await page.getByTestId("unpriced-requests").textContent()).toBe("2 unpriced");
    expect(await page.getByTestId("total-tokens").textContent()).toBe("9,600 / 2,050");
    expect(await page.getByTestId("error-rate").textContent()).toBe("7.1%");
    expect(await page.getByTestId("nav-email").textContent()).toBe(EMAIL);
    expect(await page.getByTestId("nav-org").textContent()).toBe("Acme Corp");
    // The chart drew one bar per non-empty hour.
    await page
      .locator('[data-testid="usage-chart"] .recharts-bar-rectangle path')
      .first()
      .waitFor();
    expect(
      await page.locator('[data-testid="usage-chart"] .recharts-bar-rectangle path').count(),
    ).toBe(3);
    await page.screenshot({
      path: path.join(tmpdir(), "switchyard-dashboard-overview.png"),
      fullPage: true,
    });

    await page.getByTestId("range-7d").click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="range-7d"]')?.getAttribute("aria-pressed") === "true",
    );
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="overview-cards"]')?.getAttribute("aria-busy") ===
        "false",
    );
    expect(await page.getByTestId("total-requests").textContent()).toBe("14");
  });

  it("lists the team's requests newest first with exact cost and 'unpriced'", async () => {
    await page.getByTestId("nav-requests").click();
    await page.waitForURL(`${baseUrl}/requests`);
    await page.getByTestId("request-row").first().waitFor();
    const rows = page.getByTestId("request-row");
    expect(
      await rows.evaluateAll((els) => els.map((el) => el.getAttribute("data-request-id"))),
    ).toEqual(["req-browser-error", "req-browser-unpriced", "req-browser-priced"]);
    const unpriced = rows.nth(1);
    expect(await unpriced.getByTestId("request-cost").textContent()).toBe("unpriced");
    expect(await unpriced.getByTestId("request-model").textContent()).toBe("local-llama → llama3");
    const priced = rows.nth(2);
    expect(await priced.getByTestId("request-cost").getAttribute("data-value")).toBe("0.001234000");
    expect(await priced.getByTestId("request-cost").textContent()).toBe("$0.001234");
    expect(await priced.getByTestId("request-tokens").textContent()).toBe("1,200 / 345");
    expect(await rows.nth(0).getByTestId("request-status").textContent()).toContain("429");
    await page.screenshot({
      path: path.join(tmpdir(), "switchyard-dashboard-requests.png"),
      fullPage: true,
    });
  });

  it("lists the team's keys only", async () => {
    await page.getByTestId("nav-keys").click();
    await page.waitForURL(`${baseUrl}/keys`);
    await page.getByTestId("key-row").first().waitFor();
    const rows = page.getByTestId("key-row");
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain("platform-prod");
    expect(await rows.first().textContent()).toContain("120 rpm");
  });

  it("refuses sign-up (admins create users) and sign-in posted from a foreign origin", async () => {
    const post = (route: string, origin: string, body: object) =>
      fetch(`${baseUrl}/api/auth/${route}`, {
        method: "POST",
        headers: { origin, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const signUp = await post("sign-up/email", baseUrl, {
      email: "mallory@acme.test",
      password: PASSWORD,
      name: "Mallory",
    });
    expect(signUp.status).toBe(400);
    expect(await prisma.user.count({ where: { email: "mallory@acme.test" } })).toBe(0);
    const foreign = await post("sign-in/email", "http://evil.example", {
      email: EMAIL,
      password: PASSWORD,
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("set-cookie")).toBeNull();
  });

  it("signs out, after which pages redirect to /sign-in again", async () => {
    await page.getByTestId("sign-out").click();
    await page.waitForURL(`${baseUrl}/sign-in`);
    await page.goto(`${baseUrl}/`);
    await page.waitForURL(`${baseUrl}/sign-in`);
    expect(await prisma.session.count()).toBe(0);
  });
});
