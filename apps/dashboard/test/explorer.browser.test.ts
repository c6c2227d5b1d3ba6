import type { Redis } from "ioredis";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrismaClient } from "@switchyard/db";
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
import { createKey } from "./fixtures";

const REDIS_URL = "redis://127.0.0.1:6379/15";
const PASSWORD = "a long enough password";
const ADMIN = "erin@acme.test";
const MEMBER = "mark@acme.test";
const MIN = 60_000;
const HOUR = 3_600_000;

let prisma: PrismaClient;
let sub: Redis;
const notices: string[] = [];
let dashboard: RunningDashboard | undefined;
let browser: Browser | undefined;
let page: Page;
let baseUrl = "";
let teamId = "";

const rows = () => page.getByTestId("request-row");
const row = (requestId: string) =>
  page.locator(`[data-testid="request-row"][data-request-id="${requestId}"]`);

beforeAll(async () => {
  const db = await openTestDatabase("switchyard_test_dashboard_explorer_browser");
  prisma = db.prisma;
  const { org, team } = await seedAcme(prisma, {
    password: PASSWORD,
    admin: { email: ADMIN, name: "Erin" },
    member: { email: MEMBER, name: "Mark" },
  });
  teamId = team.id;
  await prisma.team.update({ where: { id: team.id }, data: { bodyLogging: "redacted" } });
  const key = await createKey(prisma, team, "platform-prod");
  const provider = await prisma.providerCredential.create({
    data: { slug: "local", type: "openai-compatible", orgId: org.id },
  });
  await prisma.model.create({
    data: { name: "local-llama", providerId: provider.id, upstreamModel: "llama3", orgId: org.id },
  });
  const now = Date.now();
  const base = {
    orgId: org.id,
    teamId: team.id,
    virtualKeyId: key.id,
    endpoint: "chat.completions",
    inputTokens: 2847,
    outputTokens: 612,
    cacheStatus: "miss",
    status: 200,
    latencyMs: 1247,
    stream: true,
  };
  await prisma.requestLog.createMany({
    data: [
      {
        ...base,
        requestId: "req_exp_sonnet",
        createdAt: new Date(now - 3 * MIN),
        requestedModel: "claude-opus-4",
        servedModel: "claude-sonnet-4",
        provider: "anthropic",
        usageSource: "provider",
        costNanoUsd: 17_721_000n,
        requestedCostNanoUsd: 88_605_000n,
        ttftMs: 412,
        endUser: "u-42",
        tags: { env: "prod" },
      },
      {
        ...base,
        requestId: "req_exp_llama",
        createdAt: new Date(now - 2 * MIN),
        requestedModel: "local-llama",
        servedModel: "llama3",
        provider: "local",
        usageSource: "estimated",
        costNanoUsd: null,
        stream: false,
      },
      {
        ...base,
        requestId: "req_exp_mini",
        createdAt: new Date(now - 1 * MIN),
        requestedModel: "gpt-4o-mini",
        servedModel: "gpt-4o-mini",
        provider: "openai",
        usageSource: "provider",
        costNanoUsd: 1_234_000n,
        tags: { env: "dev" },
      },
    ],
  });
  await prisma.requestBody.create({
    data: {
      requestId: "req_exp_sonnet",
      orgId: org.id,
      teamId: team.id,
      createdAt: new Date(now - 3 * MIN),
      request: '{"messages":[{"role":"user","content":"Write to [EMAIL] about the invoice"}]}',
      response: '{"content":"Done."}',
      redacted: true,
    },
  });
  await prisma.usageRollup.create({
    data: {
      bucket: new Date(Math.floor(now / HOUR) * HOUR),
      orgId: org.id,
      teamId: team.id,
      virtualKeyId: key.id,
      model: "local-llama",
      provider: "local",
      requests: 3,
      unpricedRequests: 3,
    },
  });

  sub = await collectConfigNotices(REDIS_URL, notices);
  dashboard = await startDashboard(
    dashboardEnv({
      DATABASE_URL: db.databaseUrl,
      REDIS_URL,
      SWITCHYARD_ENCRYPTION_KEY: "ef".repeat(32),
    }),
  );
  baseUrl = dashboard.baseUrl;
  browser = await launchChromium();
  page = browser.page;
  await signIn(page, baseUrl, ADMIN, PASSWORD);
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  sub?.disconnect();
  await prisma?.$disconnect();
});

describe("Request explorer in Chromium", () => {
  it("filters by model and by pricing, each row one readable line", async () => {
    await page.getByTestId("nav-requests").click();
    await page.waitForURL(`${baseUrl}/requests`);
    await row("req_exp_mini").waitFor();
    expect(await rows().count()).toBe(3);

    await page.getByTestId("filter-model").fill("claude-sonnet-4");
    await page.getByTestId("filter-apply").click();
    await expect.poll(() => rows().count()).toBe(1);
    expect(await row("req_exp_sonnet").getByTestId("request-line").textContent()).toBe(
      "POST /v1/chat/completions → claude-sonnet-4 via anthropic (asked claude-opus-4) | 2,847 in + 612 out tokens | $0.0177 | cache miss | TTFT 412 ms | 1,247 ms | stream",
    );

    await page.getByTestId("filter-reset").click();
    await page.getByTestId("filter-pricing").selectOption("unpriced");
    await page.getByTestId("filter-apply").click();
    await expect.poll(() => rows().count()).toBe(1);
    const llama = row("req_exp_llama");
    expect(await llama.getByTestId("request-cost").textContent()).toBe("unpriced");
    expect(await llama.getByTestId("request-line").textContent()).toContain(
      "| 2,847 in + 612 out tokens (estimated) | unpriced |",
    );
    expect(await llama.getByTestId("request-estimated").count()).toBe(1);
  });

  it("opens a request's detail with the savings line and its redacted bodies", async () => {
    await page.getByTestId("filter-reset").click();
    await page.getByTestId("filter-search").fill("req_exp_so");
    await page.getByTestId("filter-apply").click();
    await expect.poll(() => rows().count()).toBe(1);
    await row("req_exp_sonnet").getByTestId("request-line").click();
    await page.waitForURL(`${baseUrl}/requests/req_exp_sonnet`);
    await page.getByTestId("request-detail").waitFor();
    expect(await page.getByTestId("detail-user").textContent()).toBe("u-42");
    expect(await page.getByTestId("detail-tags").textContent()).toBe("env=prod");
    // $0.088605 on claude-opus-4 against $0.017721 on claude-sonnet-4.
    expect(await page.getByTestId("detail-requested-cost").textContent()).toBe("$0.09");
    expect(await page.getByTestId("detail-saved").textContent()).toBe("$0.07");
    expect(await page.getByTestId("bodies-redacted").textContent()).toBe("redacted");
    expect(await page.getByTestId("body-request").textContent()).toContain(
      "Write to [EMAIL] about the invoice",
    );
  });

  it("lets the org admin change the team's body logging, telling the proxies", async () => {
    const before = notices.length;
    await page.goto(`${baseUrl}/teams/${teamId}`);
    const setting = page.getByTestId("body-logging");
    await page.locator('[data-testid="body-logging"][data-value="redacted"]').waitFor();
    await page.getByTestId("body-logging-select").selectOption("off");
    await page.locator('[data-testid="body-logging"][data-value="off"]').waitFor();
    expect(await setting.getAttribute("data-value")).toBe("off");
    expect((await prisma.team.findUniqueOrThrow({ where: { id: teamId } })).bodyLogging).toBe(
      "off",
    );
    await expect
      .poll(() => notices.slice(before).map((n) => (JSON.parse(n) as { kind: string }).kind))
      .toContain("teams");
  });
});

describe("Prices page in Chromium", () => {
  it("flags the unpriced model and lets the org admin price it with an override", async () => {
    const before = notices.length;
    await page.getByTestId("nav-prices").click();
    await page.waitForURL(`${baseUrl}/prices`);
    const unpriced = page.locator('[data-testid="unpriced-row"][data-model="local-llama"]');
    await unpriced.waitFor();
    expect(await unpriced.getByTestId("unpriced-count").textContent()).toBe("3");
    expect(
      await page.locator('[data-testid="registry-row"][data-model="gpt-4o-mini"]').count(),
    ).toBeGreaterThan(0);

    await unpriced.getByTestId("unpriced-add-price").click();
    expect(await page.getByTestId("override-model").inputValue()).toBe("llama3");
    await page.getByTestId("override-inputPerMTok").fill("0.20");
    await page.getByTestId("override-outputPerMTok").fill("0.40");
    await page.getByTestId("override-note").fill("our GPUs");
    await page.getByTestId("override-save").click();

    const override = page.locator('[data-testid="override-row"][data-model="llama3"]');
    await override.waitFor();
    expect(await override.textContent()).toContain("0.20");
    await page.getByTestId("unpriced-empty").waitFor();
    const stored = await prisma.priceOverride.findFirstOrThrow({
      where: { upstreamModel: "llama3" },
    });
    expect(stored).toMatchObject({
      pricing: { inputPerMTok: "0.20", outputPerMTok: "0.40" },
      note: "our GPUs",
    });
    await expect
      .poll(() => notices.slice(before).map((n) => (JSON.parse(n) as { kind: string }).kind))
      .toContain("prices");
  });

  it("refuses a price that is not a decimal and stores nothing", async () => {
    await page.getByTestId("override-model").fill("llama3-70b");
    await page.getByTestId("override-inputPerMTok").fill("cheap");
    await page.getByTestId("override-outputPerMTok").fill("0.40");
    await page.getByTestId("override-save").click();
    await page.getByTestId("form-error").waitFor();
    expect(await page.getByTestId("form-error").textContent()).toContain("non-negative decimal");
    expect(await prisma.priceOverride.count({ where: { upstreamModel: "llama3-70b" } })).toBe(0);
  });

  it("lets the org admin add a custom model with its own price, telling the proxies", async () => {
    const before = notices.length;
    await page.getByTestId("custom-model-name").fill("acme-fast");
    await page.getByTestId("custom-model-upstream").fill("fast-1");
    await page.getByTestId("custom-model-input").fill("1");
    await page.getByTestId("custom-model-output").fill("2");
    await page.getByTestId("custom-model-save").click();
    const row = page.locator('[data-testid="custom-model-row"][data-model="acme-fast"]');
    await row.waitFor();
    expect(await row.textContent()).toContain("fast-1");
    const stored = await prisma.model.findUniqueOrThrow({ where: { name: "acme-fast" } });
    expect(stored).toMatchObject({
      upstreamModel: "fast-1",
      pricing: { inputPerMTok: "1", outputPerMTok: "2" },
    });
    expect(stored.orgId).not.toBeNull();
    await expect
      .poll(() => notices.slice(before).map((n) => (JSON.parse(n) as { kind: string }).kind))
      .toContain("models");
  });
});
