import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { Redis } from "ioredis";
import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { addMembership, createUserWithPassword } from "./fixtures";

/** Shared by the browser suites: a built dashboard started on a free port, and Debian's Chromium. */
const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const nextBin = path.join(appDir, "node_modules/next/dist/bin/next");

function newestMtime(entry: string): number {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(
    stat.mtimeMs,
    ...readdirSync(entry).map((name) => newestMtime(path.join(entry, name))),
  );
}

/** Builds unless .next is newer than every source file (a stale build would test old code). */
export function ensureBuilt() {
  const buildId = path.join(appDir, ".next/BUILD_ID");
  const inputs = ["src", "next.config.ts", "postcss.config.mjs", "package.json"].map((p) =>
    path.join(appDir, p),
  );
  if (existsSync(buildId) && statSync(buildId).mtimeMs > Math.max(...inputs.map(newestMtime)))
    return;
  const result = spawnSync(process.execPath, [nextBin, "build"], {
    cwd: appDir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
    encoding: "utf8",
  });
  if (result.status !== 0)
    throw new Error(`next build failed:\n${result.stdout}\n${result.stderr}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export interface RunningDashboard {
  baseUrl: string;
  server: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** `next start` of the built app with the given environment; resolves once it answers. */
export async function startDashboard(env: NodeJS.ProcessEnv): Promise<RunningDashboard> {
  ensureBuilt();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let log = "";
  const server = spawn(process.execPath, [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: appDir,
    env: { ...env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", DASHBOARD_PORT: String(port) },
    detached: true,
  });
  server.stdout?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  server.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const running: RunningDashboard = {
    baseUrl,
    server,
    log: () => log,
    async stop() {
      if (server.pid && server.exitCode === null) {
        const exited = new Promise((r) => server.once("exit", r));
        process.kill(-server.pid, "SIGTERM");
        await exited;
      }
    },
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`dashboard exited early:\n${log}`);
    try {
      const res = await fetch(`${baseUrl}/sign-in`, { redirect: "manual" });
      if (res.status < 500) return running;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await running.stop();
  throw new Error(`dashboard did not start in 60 s:\n${log}`);
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const userDataDir = mkdtempSync(path.join(tmpdir(), "switchyard-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1360, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the form and waits for the overview. */
export async function signIn(page: Page, baseUrl: string, email: string, password: string) {
  await page.goto(`${baseUrl}/sign-in`);
  await page.getByTestId("sign-in-email").fill(email);
  await page.getByTestId("sign-in-password").fill(password);
  await page.getByTestId("sign-in-submit").click();
  await page.waitForURL(`${baseUrl}/`);
}

/** A fresh, emptied test database and a client on it. */
export async function openTestDatabase(name: string) {
  const databaseUrl = await prepareTestDatabase(name);
  const prisma = createPrismaClient(databaseUrl);
  await truncateAll(prisma);
  return { databaseUrl, prisma };
}

/**
 * The organisation every browser suite starts from: "Acme Corp" with the team "Platform",
 * an org-wide ORG_ADMIN and a MEMBER of Platform, both signing in with `password`.
 */
export async function seedAcme(
  prisma: PrismaClient,
  people: {
    password: string;
    admin: { email: string; name: string };
    member: { email: string; name: string };
  },
) {
  const org = await prisma.organization.create({ data: { slug: "acme", name: "Acme Corp" } });
  const team = await prisma.team.create({
    data: { orgId: org.id, slug: "platform", name: "Platform" },
  });
  const { password, admin, member } = people;
  const adminUser = await createUserWithPassword(prisma, admin.email, password, admin.name);
  await addMembership(prisma, adminUser.id, org.id, "ORG_ADMIN", null);
  const memberUser = await createUserWithPassword(prisma, member.email, password, member.name);
  await addMembership(prisma, memberUser.id, org.id, "MEMBER", team.id);
  return { org, team };
}

/** This process's environment for `startDashboard`, with `vars` set and Better Auth left to its defaults. */
export function dashboardEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...vars };
  delete env.BETTER_AUTH_SECRET;
  delete env.BETTER_AUTH_URL;
  return env;
}

/** Subscribes to the config-changed channel; every notice is pushed onto `notices`. */
export async function collectConfigNotices(redisUrl: string, notices: string[]): Promise<Redis> {
  const sub = new Redis(redisUrl);
  await sub.subscribe(CONFIG_CHANGED_CHANNEL);
  sub.on("message", (_channel: string, message: string) => notices.push(message));
  return sub;
}
