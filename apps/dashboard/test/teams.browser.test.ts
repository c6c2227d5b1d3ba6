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
import { openMailbox, type Mailbox } from "./mailbox";

const REDIS_URL = "redis://127.0.0.1:6379/4";
const PASSWORD = "a long enough password";
const ADMIN = "olga@acme.test";
const INVITEE = "nina@acme.test";
const INVITEE_PASSWORD = "nina's very own password";

let prisma: PrismaClient;
let mailbox: Mailbox;
let sub: Redis;
const notices: string[] = [];
let dashboard: RunningDashboard | undefined;
let admin: Browser | undefined;
let invitee: Browser | undefined;
let page: Page;
let baseUrl = "";
let teamId = "";
let inviteLink = "";

const teamRow = (p: Page, name: string) => p.locator('[data-testid="team-row"]', { hasText: name });

beforeAll(async () => {
  const db = await openTestDatabase("switchyard_test_dashboard_teams_browser");
  prisma = db.prisma;
  await seedAcme(prisma, {
    password: PASSWORD,
    admin: { email: ADMIN, name: "Olga" },
    member: { email: "pete@acme.test", name: "Pete" },
  });

  mailbox = await openMailbox();
  sub = await collectConfigNotices(REDIS_URL, notices);
  const env = dashboardEnv({
    DATABASE_URL: db.databaseUrl,
    REDIS_URL,
    SWITCHYARD_ENCRYPTION_KEY: "ab".repeat(32),
    SMTP_URL: mailbox.smtpUrl,
    MAIL_FROM: "Switchyard <noreply@acme.test>",
  });
  delete env.DASHBOARD_URL;
  dashboard = await startDashboard(env);
  baseUrl = dashboard.baseUrl;
  admin = await launchChromium();
  page = admin.page;
});

afterAll(async () => {
  await invitee?.close();
  await admin?.close();
  await dashboard?.stop();
  sub?.disconnect();
  await mailbox?.stop();
  await prisma?.$disconnect();
});

describe("Teams and invitations in Chromium", () => {
  it("lets an org admin create a team on /teams and set its rate limits", async () => {
    await signIn(page, baseUrl, ADMIN, PASSWORD);
    await page.getByTestId("nav-teams").click();
    await page.waitForURL(`${baseUrl}/teams`);
    await teamRow(page, "Platform").waitFor();
    await page.getByTestId("team-name").fill("Research Lab");
    expect(await page.getByTestId("team-slug").inputValue()).toBe("research-lab");
    await page.getByTestId("team-slug").fill("research");
    await page.getByTestId("team-create").click();
    const row = teamRow(page, "Research Lab");
    await row.waitFor();
    teamId = (await row.getAttribute("data-team-id")) ?? "";
    const stored = await prisma.team.findUniqueOrThrow({ where: { id: teamId } });
    expect(stored).toMatchObject({ slug: "research", name: "Research Lab" });
    expect(await page.getByTestId("team-name").inputValue()).toBe("");

    await row.getByTestId("team-limits-edit").click();
    await row.getByTestId("team-rpm").fill("600");
    await row.getByTestId("team-limits-save").click();
    await row.getByTestId("team-limits").filter({ hasText: "600 RPM · unlimited TPM" }).waitFor();
    expect(await prisma.team.findUniqueOrThrow({ where: { id: teamId } })).toMatchObject({
      rpmLimit: 600,
      tpmLimit: null,
    });
    const deadline = Date.now() + 3000;
    while (!notices.some((n) => n.includes('"teams"')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(notices.some((n) => n.includes('"teams"'))).toBe(true);
  });

  it("invites someone by email from the team page", async () => {
    await teamRow(page, "Research Lab").getByTestId("team-link").click();
    await page.waitForURL(`${baseUrl}/teams/${teamId}`);
    await page.getByTestId("no-invitations").waitFor();
    const seen = mailbox.received.length;
    await page.getByTestId("invite-email").fill(INVITEE);
    await page.getByTestId("invite-role").selectOption("MEMBER");
    await page.getByTestId("invite-submit").click();
    await page.getByTestId("invite-sent").waitFor();
    await page.locator(`[data-testid="invitation-row"][data-email="${INVITEE}"]`).waitFor();

    const mail = await mailbox.nextFor(INVITEE, seen);
    expect(mail.subject).toBe("You are invited to Research Lab on Switchyard");
    const match = /(https?:\/\/\S+\/invite\/[A-Za-z0-9_-]{43})/.exec(mail.text ?? "");
    expect(match).not.toBeNull();
    inviteLink = match![1]!;
    expect(mail.html).toContain(`href="${inviteLink}"`);
    // The link's token is nowhere in the page the admin sees.
    expect(await page.content()).not.toContain(inviteLink.split("/invite/")[1]!);
  });

  it("lets the invitee open the link, set a password and land signed in, seeing only that team", async () => {
    invitee = await launchChromium();
    const p = invitee.page;
    await p.goto(inviteLink);
    expect(await p.getByTestId("invite-team").textContent()).toBe("Research Lab");
    expect(await p.getByTestId("invite-org").textContent()).toBe("Acme Corp");
    expect(await p.getByTestId("invite-role-name").textContent()).toBe("Member");
    await p.getByTestId("invite-name").fill("Nina");
    await p.getByTestId("invite-password").fill(INVITEE_PASSWORD);
    await p.getByTestId("invite-password-confirm").fill(INVITEE_PASSWORD);
    await p.getByTestId("invite-accept").click();
    await p.waitForURL(/\/teams\/[^/]+$/);
    expect(new URL(p.url()).pathname).toBe(`/teams/${teamId}`);
    expect(await p.getByTestId("nav-email").textContent()).toBe(INVITEE);
    await p.locator(`[data-testid="member-row"][data-email="${INVITEE}"]`).waitFor();

    await p.getByTestId("nav-teams").click();
    await p.waitForURL(/\/teams$/);
    await teamRow(p, "Research Lab").waitFor();
    const rows = await p.getByTestId("team-row").all();
    expect(rows).toHaveLength(1);
    expect(await rows[0]!.getAttribute("data-team-id")).toBe(teamId);
    // A member creates no teams.
    expect(await p.getByTestId("team-create").count()).toBe(0);

    const user = await prisma.user.findUniqueOrThrow({
      where: { email: INVITEE },
      include: { memberships: true },
    });
    expect(user.memberships.map((m) => [m.teamId, m.role])).toEqual([[teamId, "MEMBER"]]);
  });

  it("shows a clear error when the link is used again, and the admin no longer sees it pending", async () => {
    const p = invitee!.page;
    await p.goto(inviteLink);
    const error = p.getByTestId("invite-error");
    await error.waitFor();
    expect(await error.textContent()).toContain("already been used");

    await page.reload();
    await page.locator(`[data-testid="member-row"][data-email="${INVITEE}"]`).waitFor();
    expect(await page.locator('[data-testid="invitation-row"]').count()).toBe(0);
  });
});
