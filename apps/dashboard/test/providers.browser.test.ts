import { tmpdir } from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConfigSource,
  decodeEncryptionKey,
  decryptSecret,
  type PrismaClient,
} from "@switchyard/db";
import { startMockUpstream, type MockUpstream } from "@switchyard/mock-upstream";
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

const REDIS_URL = "redis://127.0.0.1:6379/15";
const ENCRYPTION_KEY = "cd".repeat(32);
const PASSWORD = "a long enough password";
const ADMIN = "olga@acme.test";
const MEMBER = "mike@acme.test";
const FIRST_KEY = "sk-browser-first-key-1234";
const SECOND_KEY = "sk-browser-rotated-key-5678";

let prisma: PrismaClient;
let mock: MockUpstream;
let sub: Redis;
const notices: string[] = [];
let dashboard: RunningDashboard | undefined;
let browser: Browser | undefined;
let page: Page;
let baseUrl = "";

const card = (slug: string) => page.locator(`[data-testid="provider-card"][data-slug="${slug}"]`);
const keyRow = (slug: string, label: string) => card(slug).locator(`[data-testid="key-row"][data-label="${label}"]`);

async function storedKey(label: string) {
  return prisma.providerKey.findFirstOrThrow({ where: { label, provider: { slug: "mock-openai" } } });
}

beforeAll(async () => {
  const db = await openTestDatabase("switchyard_test_dashboard_providers_browser");
  prisma = db.prisma;
  await seedAcme(prisma, {
    password: PASSWORD,
    admin: { email: ADMIN, name: "Olga" },
    member: { email: MEMBER, name: "Mike" },
  });
  await prisma.providerCredential.create({
    data: {
      slug: "file-anthropic",
      type: "anthropic",
      source: ConfigSource.CONFIG_FILE,
      keys: { create: { label: "default", apiKeyRef: "env:ANTHROPIC_API_KEY", source: ConfigSource.CONFIG_FILE } },
    },
  });

  mock = await startMockUpstream();
  sub = await collectConfigNotices(REDIS_URL, notices);

  dashboard = await startDashboard(
    dashboardEnv({ DATABASE_URL: db.databaseUrl, REDIS_URL, SWITCHYARD_ENCRYPTION_KEY: ENCRYPTION_KEY }),
  );
  baseUrl = dashboard.baseUrl;
  browser = await launchChromium();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  sub?.disconnect();
  await mock?.close();
  await prisma?.$disconnect();
});

describe("Providers page in Chromium", () => {
  it("lets an org admin add a provider and a key, shown only by its last 4 characters", async () => {
    await signIn(page, baseUrl, ADMIN, PASSWORD);
    await page.getByTestId("nav-providers").click();
    await page.waitForURL(`${baseUrl}/providers`);
    await card("file-anthropic").waitFor();
    // The config-file provider is shown read-only.
    expect(await card("file-anthropic").getByTestId("readonly-note").textContent()).toContain("switchyard.yaml");
    expect(await card("file-anthropic").getByTestId("add-key-form").count()).toBe(0);
    expect(await card("file-anthropic").getByTestId("key-rotate").count()).toBe(0);

    await page.getByTestId("new-provider-slug").fill("mock-openai");
    await page.getByTestId("new-provider-type").selectOption("openai");
    await page.getByTestId("new-provider-base-url").fill(mock.url);
    await page.getByTestId("new-provider-submit").click();
    await card("mock-openai").waitFor();
    expect(await card("mock-openai").getByTestId("provider-source").textContent()).toBe("dashboard");
    const provider = await prisma.providerCredential.findUniqueOrThrow({ where: { slug: "mock-openai" } });
    expect(provider).toMatchObject({ source: "DASHBOARD", baseUrl: mock.url, type: "openai" });
    expect(provider.orgId).not.toBeNull();

    await card("mock-openai").getByTestId("add-key-label").fill("acct-a");
    await card("mock-openai").getByTestId("add-key-secret").fill(FIRST_KEY);
    await card("mock-openai").getByTestId("add-key-submit").click();
    await keyRow("mock-openai", "acct-a").waitFor();
    expect(await keyRow("mock-openai", "acct-a").getByTestId("key-secret-hint").textContent()).toBe("••••1234");
    expect(await card("mock-openai").getByTestId("add-key-secret").inputValue()).toBe("");
    expect(decryptSecret((await storedKey("acct-a")).apiKeyEncrypted!, decodeEncryptionKey(ENCRYPTION_KEY))).toBe(FIRST_KEY);
    expect(await page.content()).not.toContain(FIRST_KEY);
  });

  it("tests the connection against the provider and shows OK with the status", async () => {
    const before = mock.requests.length;
    await keyRow("mock-openai", "acct-a").getByTestId("key-test").click();
    const result = keyRow("mock-openai", "acct-a").getByTestId("test-result");
    await result.waitFor();
    expect(await result.getAttribute("data-ok")).toBe("true");
    expect(await result.textContent()).toMatch(/^OK · HTTP 200 in \d+ ms$/);
    expect(mock.requests.length).toBe(before + 1);
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${FIRST_KEY}`);
  });

  it("shows the provider's error when it refuses the key", async () => {
    mock.setFault("status:401");
    try {
      await keyRow("mock-openai", "acct-a").getByTestId("key-test").click();
      const result = keyRow("mock-openai", "acct-a").locator('[data-testid="test-result"][data-ok="false"]');
      await result.waitFor();
      expect(await result.textContent()).toBe("HTTP 401: Incorrect API key provided.");
    } finally {
      mock.setFault(null);
    }
  });

  it("rotates the key and then disables it, telling the proxies each time", async () => {
    const noticesBefore = notices.length;
    const row = keyRow("mock-openai", "acct-a");
    expect(await row.getByTestId("key-rotated").textContent()).toBe("never");
    await row.getByTestId("key-rotate").click();
    await row.getByTestId("rotate-secret").fill(SECOND_KEY);
    await row.getByTestId("rotate-submit").click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="key-row"][data-label="acct-a"] [data-testid="key-secret-hint"]')?.textContent ===
        "••••5678",
    );
    expect(await row.getByTestId("key-rotated").textContent()).not.toBe("never");
    const rotated = await storedKey("acct-a");
    expect(decryptSecret(rotated.apiKeyEncrypted!, decodeEncryptionKey(ENCRYPTION_KEY))).toBe(SECOND_KEY);
    expect(rotated.rotatedAt).not.toBeNull();

    await row.getByTestId("key-test").click();
    await row.locator('[data-testid="test-result"][data-ok="true"]').waitFor();
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${SECOND_KEY}`);

    expect(await row.getByTestId("key-toggle").textContent()).toBe("Disable");
    await row.getByTestId("key-toggle").click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid="key-row"][data-label="acct-a"] [data-testid="key-status"]')?.textContent ===
        "disabled",
    );
    expect((await storedKey("acct-a")).disabledAt).not.toBeNull();
    expect(await page.content()).not.toContain(SECOND_KEY);
    // provider created + key added before, rotate + disable now: every write published.
    const deadline = Date.now() + 3000;
    while (notices.length < noticesBefore + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(notices.length).toBeGreaterThanOrEqual(noticesBefore + 2);
    expect(notices.length).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: path.join(tmpdir(), "switchyard-dashboard-providers.png"), fullPage: true });
  });

  it("shows a member the providers read-only, without any management control", async () => {
    await page.getByTestId("sign-out").click();
    await page.waitForURL(`${baseUrl}/sign-in`);
    await signIn(page, baseUrl, MEMBER, PASSWORD);
    await page.goto(`${baseUrl}/providers`);
    await page.getByTestId("providers-readonly").waitFor();
    await card("mock-openai").waitFor();
    expect(await keyRow("mock-openai", "acct-a").getByTestId("key-secret-hint").textContent()).toBe("••••5678");
    for (const id of ["add-provider-form", "add-key-form", "key-test", "key-rotate", "key-toggle", "key-delete", "provider-test"])
      expect(await page.getByTestId(id).count(), id).toBe(0);
  });
});
