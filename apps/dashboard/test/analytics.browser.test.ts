import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_MS } from "@switchyard/contracts";
import type { PrismaClient } from "@switchyard/db";
import {
  dashboardEnv,
  launchChromium,
  openTestDatabase,
  seedAcme,
  signIn,
  startDashboard,
  type Browser,
  type RunningDashboard,
} from "./browser";
import { createKey } from "./fixtures";

/**
 * The proof for analytics: a team member opens /analytics, sees the breakdown
 * by model and by a tag with the exact numbers in the rollups of their own team only,
 * and the CSV export downloads exactly those rows.
 */
const PASSWORD = "a long enough password";
const ADMIN = "ada@acme.test";
const MEMBER = "mia@acme.test";
const HOUR = 3_600_000;

let prisma: PrismaClient;
let dashboard: RunningDashboard | undefined;
let browser: Browser | undefined;
let page: Page;
let baseUrl = "";

function hist(boundMs: number, count: number): number[] {
  const h = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  h[LATENCY_BUCKETS_MS.indexOf(boundMs)] = count;
  return h;
}

beforeAll(async () => {
  const db = await openTestDatabase("switchyard_test_dashboard_analytics_browser");
  prisma = db.prisma;
  const { org, team } = await seedAcme(prisma, {
    password: PASSWORD,
    admin: { email: ADMIN, name: "Ada" },
    member: { email: MEMBER, name: "Mia" },
  });
  const research = await prisma.team.create({ data: { orgId: org.id, slug: "research", name: "Research" } });
  const key = await createKey(prisma, team, "platform-prod");
  const otherKey = await createKey(prisma, research, "research-prod");
  const bucket = new Date(Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR);
  const base = { bucket, orgId: org.id };
  await prisma.usageRollup.createMany({
    data: [
      {
        ...base,
        teamId: team.id,
        virtualKeyId: key.id,
        model: "gpt-4o-mini",
        provider: "openai-main",
        requests: 7,
        errors: 1,
        inputTokens: 7000n,
        outputTokens: 1400n,
        costNanoUsd: 1_500_000_000n,
        latencyHist: hist(400, 7),
      },
      {
        ...base,
        teamId: team.id,
        virtualKeyId: key.id,
        model: "claude-haiku",
        provider: "anthropic",
        requests: 3,
        inputTokens: 300n,
        outputTokens: 30n,
        costNanoUsd: 250_000_000n,
        latencyHist: hist(1500, 3),
      },
      {
        ...base,
        teamId: research.id,
        virtualKeyId: otherKey.id,
        model: "gpt-4o-mini",
        provider: "openai-main",
        requests: 4,
        costNanoUsd: 2_000_000_001n,
      },
    ],
  });
  const attr = (teamId: string, dimension: string, value: string, requests: number, costNanoUsd: bigint) => ({
    ...base,
    teamId,
    dimension,
    value,
    requests,
    costNanoUsd,
  });
  await prisma.attributionRollup.createMany({
    data: [
      attr(team.id, "tag:feature", 'search, "beta"', 6, 1_200_000_000n),
      attr(team.id, "tag:feature", "chat", 4, 550_000_000n),
      attr(research.id, "tag:feature", "secret", 4, 2_000_000_001n),
    ],
  });

  dashboard = await startDashboard(
    dashboardEnv({ DATABASE_URL: db.databaseUrl, SWITCHYARD_ENCRYPTION_KEY: "cd".repeat(32) }),
  );
  baseUrl = dashboard.baseUrl;
  browser = await launchChromium();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await prisma?.$disconnect();
});

async function breakdownRows() {
  await page.waitForFunction(
    () => document.querySelector('[data-testid="breakdown"]')?.getAttribute("aria-busy") === "false",
  );
  return page.getByTestId("breakdown-row").evaluateAll((rows) =>
    rows.map((row) => {
      const cell = (id: string) =>
        row.querySelector(`[data-testid="cell-${id}"]`)?.getAttribute("data-value") ?? null;
      return [cell("name"), cell("requests"), cell("spend"), cell("p95")];
    }),
  );
}

describe("analytics in Chromium", () => {
  it("a team member sees their team's breakdown by model, with exact spend and p95", async () => {
    await signIn(page, baseUrl, MEMBER, PASSWORD);
    // The overview first: p95 and the top models of the member's own team.
    await page.waitForFunction(
      () => document.querySelector('[data-testid="summary-cards"]')?.getAttribute("aria-busy") === "false",
    );
    expect(await page.getByTestId("latency-p95").getAttribute("data-value")).toBe("1500");
    expect(await page.getByTestId("cache-saved").getAttribute("data-value")).toBe("0.000000000");
    expect(
      await page.getByTestId("top-models-row").evaluateAll((rows) =>
        rows.map((r) => r.querySelector('[data-testid="cell-spend"]')?.getAttribute("data-value")),
      ),
    ).toEqual(["1.500000000", "0.250000000"]);
    await page.screenshot({ path: path.join(tmpdir(), "switchyard-analytics-overview.png"), fullPage: true });
    await page.getByTestId("nav-analytics").click();
    await page.waitForURL(`${baseUrl}/analytics`);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="analytics-cards"]')?.getAttribute("aria-busy") === "false",
    );
    expect(await page.getByTestId("analytics-spend").getAttribute("data-value")).toBe("1.750000000");
    expect(await page.getByTestId("analytics-requests").textContent()).toBe("10");
    await page.screenshot({ path: path.join(tmpdir(), "switchyard-analytics.png"), fullPage: true });
    expect(await breakdownRows()).toEqual([
      ["gpt-4o-mini", "7", "1.500000000", "400"],
      ["claude-haiku", "3", "0.250000000", "1500"],
    ]);
  });

  it("groups by a tag and exports exactly the rows shown as CSV", async () => {
    await page.getByTestId("group-by").selectOption("tag:feature");
    await expect
      .poll(async () => (await breakdownRows()).map((r) => r[0]), { timeout: 15_000 })
      .toEqual(['search, "beta"', "chat"]);
    expect(await breakdownRows()).toEqual([
      ['search, "beta"', "6", "1.200000000", ""],
      ["chat", "4", "0.550000000", ""],
    ]);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("breakdown-csv").click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^breakdown-tag-feature-\d{4}-\d{2}-\d{2}–\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = await readFile(await download.path(), "utf8");
    expect(csv).toBe(
      [
        "Tag: feature,Requests,Spend (USD),Tokens in,Tokens out,Error rate,Cache hits,p50,p95,Avg TTFT,Unpriced,Saved by cache (USD),Saved by routing (USD)",
        '"search, ""beta""",6,1.200000000,0,0,0,,,,,0,,',
        "chat,4,0.550000000,0,0,0,,,,,0,,",
        "",
      ].join("\r\n"),
    );
  });

  it("an org admin sees both teams; a custom range without the data shows none", async () => {
    await page.getByTestId("sign-out").click();
    await page.waitForURL(`${baseUrl}/sign-in`);
    await signIn(page, baseUrl, ADMIN, PASSWORD);
    await page.goto(`${baseUrl}/analytics`);
    await page.getByTestId("group-by").selectOption("team");
    await expect
      .poll(async () => (await breakdownRows()).map((r) => r[0]), { timeout: 15_000 })
      .toEqual(["Research", "Platform"]);
    expect(await breakdownRows()).toEqual([
      ["Research", "4", "2.000000001", ""],
      ["Platform", "10", "1.750000000", "1500"],
    ]);
    await page.getByTestId("range-custom").click();
    await page.getByTestId("range-from").fill("2024-01-01");
    await page.getByTestId("range-to").fill("2024-01-31");
    await page.getByTestId("breakdown-empty").waitFor();
    await expect
      .poll(async () => page.getByTestId("analytics-spend").getAttribute("data-value"), { timeout: 15_000 })
      .toBe("0.000000000");
  });
});
