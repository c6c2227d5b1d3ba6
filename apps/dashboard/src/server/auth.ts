import { betterAuth } from "better-auth";
import { prismaAdapter } from "better-auth/adapters/prisma";
import type { PrismaClient } from "@switchyard/db";
import { getEnv } from "../env";
import { getDb } from "./db";

export interface AuthSettings {
  secret: string;
  /** Canonical URL of the dashboard (BETTER_AUTH_URL or http://localhost:PORT). */
  baseUrl: string;
  port: number;
}

/**
 * Origins allowed to post to the auth endpoints: the configured URL and the loopback
 * names of the port we listen on, so http://127.0.0.1:PORT works as well as localhost.
 */
export function trustedOriginsFor(settings: Pick<AuthSettings, "baseUrl" | "port">): string[] {
  const origins = new Set([new URL(settings.baseUrl).origin]);
  for (const host of ["localhost", "127.0.0.1", "[::1]"])
    origins.add(`http://${host}:${settings.port}`);
  return [...origins];
}

export function createAuth(db: PrismaClient, settings: AuthSettings) {
  return betterAuth({
    appName: "Switchyard",
    baseURL: settings.baseUrl,
    secret: settings.secret,
    trustedOrigins: trustedOriginsFor(settings),
    database: prismaAdapter(db, { provider: "postgresql" }),
    // Accounts are created by admins with `switchyard users create`; nobody signs up.
    emailAndPassword: { enabled: true, disableSignUp: true },
    telemetry: { enabled: false },
    // better-auth turns these checks off when NODE_ENV=test or TEST is set; never let the env decide.
    advanced: { disableOriginCheck: false, disableCSRFCheck: false },
  });
}

export type Auth = ReturnType<typeof createAuth>;

const holder = globalThis as unknown as { switchyardAuth?: Auth };

/** The process-wide auth instance, built on first use (never at build time). */
export function getAuth(): Auth {
  if (!holder.switchyardAuth) {
    const env = getEnv();
    holder.switchyardAuth = createAuth(getDb(), {
      secret: env.authSecret,
      baseUrl: env.authUrl,
      port: env.DASHBOARD_PORT,
    });
  }
  return holder.switchyardAuth;
}
