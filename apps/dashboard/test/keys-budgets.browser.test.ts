import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashVirtualKey, type PrismaClient } from "@switchyard/db";
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

/**
 * The proof for keys and budgets: an org admin creates a team, a key (copied
 * once) and a budget in a real Chromium; a member of another team sees none of it,
 * neither on the pages nor through tRPC.
 */
const PASSWORD = "a long enough password";
const ADMIN = "ada@acme.test";
const OUTSIDER = "otto@acme.test";
const REDIS_URL = "redis://127.0.0.1:6379/4";
const TEAM_NAME = "Search Squad";
const TEAM_SLUG = "search-squad";
const KEY_NAME = "search-prod";

let prisma: PrismaClient;
let dashboard: RunningDashboard | undefined;
let browser: Browser | undefined;
let page: Page;
let baseUrl = "";
const state = { teamId: "", keyId: "", clearKey: "", budgetId: "" };

/** A tRPC call from inside the page, with the page's session cookie. Returns the HTTP status and body. */
async function trpcFromPage(kind: "query" | "mutation", procedure: string, input: unknown) {
  return page.evaluate(
    async ({ kind, procedure, input }) => {
      const wrapped = JSON.stringify({ json: input });
      const res =
        kind === "query"
          ? await fetch(`/api/trpc/${procedure}?input=${encodeURIComponent(wrapped)}`)
          : await fetch(`/api/trpc/${procedure}`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: wrapped,
            });
      return { status: res.status, body: await res.text() };
    },
    { kind, procedure, input },
  );
}

beforeAll(async () => {
  const db = await openTestDatabase("switchyard_test_dashboard_keys_browser");
  prisma = db.prisma;
  await seedAcme(prisma, {
    password: PASSWORD,
    admin: { email: ADMIN, name: "Ada" },
    member: { email: OUTSIDER, name: "Otto" },
  });
  const provider = await prisma.providerCredential.create({
    data: { slug: "openai-main", type: "openai" },
  });
  await prisma.model.create({
    data: { name: "gpt-4o-mini", providerId: provider.id, upstreamModel: "gpt-4o-mini" },
  });
  await prisma.model.create({
    data: { name: "gpt-4o", providerId: provider.id, upstreamModel: "gpt-4o" },
  });

  dashboard = await startDashboard(
    dashboardEnv({
      DATABASE_URL: db.databaseUrl,
      REDIS_URL,
      SWITCHYARD_ENCRYPTION_KEY: "9a".repeat(32),
    }),
  );
  baseUrl = dashboard.baseUrl;
  browser = await launchChromium();
  await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], {
    origin: baseUrl,
  });
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await prisma?.$disconnect();
});

describe("keys and budgets in Chromium", () => {
  it("an org admin creates a team on /teams", async () => {
    await signIn(page, baseUrl, ADMIN, PASSWORD);
    await page.goto(`${baseUrl}/teams`);
    await page.getByTestId("team-name").fill(TEAM_NAME);
    await page.getByTestId("team-slug").fill(TEAM_SLUG);
    await page.getByTestId("team-create").click();
    await page.getByTestId("team-row").filter({ hasText: TEAM_NAME }).waitFor();
    state.teamId = (await prisma.team.findFirstOrThrow({ where: { slug: TEAM_SLUG } })).id;
  });

  it("creates a key and sees it exactly once, with a Copy button", async () => {
    await page.getByTestId("nav-keys").click();
    await page.waitForURL(`${baseUrl}/keys`);
    await page.getByTestId("key-new").click();
    await page.getByTestId("key-team").selectOption(state.teamId);
    await page.getByTestId("key-name").fill(KEY_NAME);
    await page.getByTestId("key-rpm").fill("30");
    await page.getByTestId("key-tags").fill("env=prod, app=search");
    await page.locator('[data-testid="key-model-option"][value="gpt-4o-mini"]').check();
    await page.getByTestId("key-create").click();

    const dialog = page.getByTestId("key-created-dialog");
    await dialog.waitFor();
    expect(await dialog.getByTestId("key-created-warning").textContent()).toContain(
      "shown only once",
    );
    const shown = (await dialog.getByTestId("key-created-value").textContent()) ?? "";
    expect(shown).toMatch(/^sk-sy-[A-Za-z0-9_-]{43}$/);
    await dialog.getByTestId("key-copy").click();
    await dialog.getByTestId("key-copied").waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(shown);
    state.clearKey = copied;

    // The key works: its hash is the stored row with the settings from the form.
    const row = await prisma.virtualKey.findUniqueOrThrow({
      where: { keyHash: hashVirtualKey(copied) },
    });
    expect(row).toMatchObject({
      name: KEY_NAME,
      teamId: state.teamId,
      rpmLimit: 30,
      allowedModels: ["gpt-4o-mini"],
      tags: { env: "prod", app: "search" },
      revokedAt: null,
    });
    state.keyId = row.id;

    await dialog.getByTestId("key-created-done").click();
    await dialog.waitFor({ state: "detached" });
    const listed = page.locator(`[data-testid="key-row"][data-key-id="${state.keyId}"]`);
    await listed.waitFor();
    expect(await listed.getByTestId("key-prefix").textContent()).toBe(`${row.prefix}…`);
    expect(await page.content()).not.toContain(state.clearKey);
    // Not after a reload either: no procedure returns it again.
    await page.reload();
    await listed.waitFor();
    expect(await page.content()).not.toContain(state.clearKey);
  });

  it("sets a budget with alert thresholds and recipients on the new team", async () => {
    await page.getByTestId("nav-budgets").click();
    await page.waitForURL(`${baseUrl}/budgets`);
    await page.getByTestId("budgets-empty").waitFor();
    await page.getByTestId("budget-new").click();
    await page.getByTestId("budget-scope").selectOption("team");
    await page.getByTestId("budget-team").selectOption(state.teamId);
    await page.getByTestId("budget-amount").fill("25.5");
    await page.getByTestId("budget-period").selectOption("week");
    await page.getByTestId("budget-mode").selectOption("soft");
    await page.getByTestId("budget-thresholds").fill("90, 50");
    await page.getByTestId("budget-recipients").fill("finance@acme.test");
    await page.getByTestId("budget-save").click();

    const budgetRow = page.getByTestId("budget-row").filter({ hasText: TEAM_NAME });
    await budgetRow.waitFor();
    expect(await budgetRow.getByTestId("budget-spent").textContent()).toBe("$0.00 of $25.50");
    expect(await budgetRow.getByTestId("budget-thresholds-shown").textContent()).toBe("50%, 90%");
    expect(await budgetRow.getByTestId("budget-mode-badge").textContent()).toContain("soft");
    const budget = await prisma.budget.findFirstOrThrow({ where: { teamId: state.teamId } });
    expect(budget).toMatchObject({
      scope: "TEAM",
      amountNanoUsd: 25_500_000_000n,
      period: "WEEK",
      hard: false,
      thresholds: [50, 90],
      recipients: ["finance@acme.test"],
      notifyTeamAdmins: true,
    });
    state.budgetId = budget.id;
    await page.screenshot({
      path: path.join(tmpdir(), "switchyard-dashboard-budgets.png"),
      fullPage: true,
    });
  });

  it("rotates the key with a grace period: a new key shown once, the old one valid until the grace ends", async () => {
    await page.getByTestId("nav-keys").click();
    await page.waitForURL(`${baseUrl}/keys`);
    const row = page.locator(`[data-testid="key-row"][data-key-id="${state.keyId}"]`);
    await row.getByTestId("key-rotate").click();
    await row.getByTestId("key-rotate-grace").selectOption("86400");
    const before = Date.now();
    await row.getByTestId("key-rotate-confirm").click();
    const dialog = page.getByTestId("key-created-dialog");
    await dialog.waitFor();
    const fresh = (await dialog.getByTestId("key-created-value").textContent()) ?? "";
    expect(fresh).not.toBe(state.clearKey);
    // Same key (id, settings, budgets), new secret; the old secret is accepted until the grace ends.
    const rotated = await prisma.virtualKey.findUniqueOrThrow({ where: { id: state.keyId } });
    expect(rotated).toMatchObject({
      name: KEY_NAME,
      teamId: state.teamId,
      rpmLimit: 30,
      revokedAt: null,
      keyHash: hashVirtualKey(fresh),
      previousKeyHash: hashVirtualKey(state.clearKey),
    });
    expect(rotated.previousKeyExpiresAt!.getTime()).toBeGreaterThanOrEqual(
      before + 86_400_000 - 1000,
    );
    expect(rotated.previousKeyExpiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 86_400_000);
    await dialog.getByTestId("key-created-done").click();
    await row.getByTestId("key-state").filter({ hasText: "valid until" }).waitFor();
    await page.screenshot({
      path: path.join(tmpdir(), "switchyard-dashboard-keys.png"),
      fullPage: true,
    });
  });

  it("a member of another team sees neither the team, the key nor the budget, and cannot touch them", async () => {
    await page.getByTestId("sign-out").click();
    await page.waitForURL(`${baseUrl}/sign-in`);
    await signIn(page, baseUrl, OUTSIDER, PASSWORD);

    await page.goto(`${baseUrl}/teams`);
    await page.getByTestId("team-row").filter({ hasText: "Platform" }).waitFor();
    expect(await page.getByTestId("team-row").filter({ hasText: TEAM_NAME }).count()).toBe(0);

    await page.goto(`${baseUrl}/keys`);
    await page.getByTestId("keys-empty").waitFor();
    expect(await page.getByTestId("key-row").count()).toBe(0);
    expect(await page.content()).not.toContain(KEY_NAME);

    await page.goto(`${baseUrl}/budgets`);
    await page.getByTestId("budgets-empty").waitFor();
    expect(await page.content()).not.toContain(TEAM_NAME);
    // Nothing here to manage: no "New budget" for a plain member.
    expect(await page.getByTestId("budget-new").count()).toBe(0);

    await page.goto(`${baseUrl}/alerts`);
    await page.getByTestId("alerts-empty").waitFor();

    // The server refuses too, whatever the page shows.
    const keys = await trpcFromPage("query", "keys.list", {});
    expect(keys.status).toBe(200);
    expect(keys.body).not.toContain(state.keyId);
    expect((await trpcFromPage("query", "keys.list", { teamId: state.teamId })).status).toBe(403);
    expect(
      (await trpcFromPage("query", "keys.createOptions", { teamId: state.teamId })).status,
    ).toBe(404);
    expect((await trpcFromPage("query", "budgets.list", {})).body).not.toContain(state.budgetId);
    expect((await trpcFromPage("mutation", "keys.revoke", { keyId: state.keyId })).status).toBe(
      404,
    );
    expect(
      (await trpcFromPage("mutation", "keys.rotate", { keyId: state.keyId, graceSeconds: 0 }))
        .status,
    ).toBe(404);
    expect(
      (await trpcFromPage("mutation", "keys.create", { teamId: state.teamId, name: "sneaky" }))
        .status,
    ).toBe(404);
    expect(
      (
        await trpcFromPage("mutation", "budgets.update", {
          budgetId: state.budgetId,
          amountUsd: "999999",
        })
      ).status,
    ).toBe(404);
    expect(
      (await trpcFromPage("mutation", "budgets.delete", { budgetId: state.budgetId })).status,
    ).toBe(404);

    const budget = await prisma.budget.findUniqueOrThrow({ where: { id: state.budgetId } });
    expect(budget.amountNanoUsd).toBe(25_500_000_000n);
    expect(await prisma.virtualKey.count({ where: { name: "sneaky" } })).toBe(0);
    const untouched = await prisma.virtualKey.findUniqueOrThrow({ where: { id: state.keyId } });
    expect(untouched.revokedAt).toBeNull();
  });
});
