import { createHmac } from "node:crypto";
import { dashboardEnvSchema, parseEnv, type DashboardEnv } from "@switchyard/config";
import { decodeEncryptionKey } from "@switchyard/db";

export type Env = DashboardEnv & {
  /** BETTER_AUTH_SECRET, or one derived from SWITCHYARD_ENCRYPTION_KEY. */
  authSecret: string;
  /** BETTER_AUTH_URL, or http://localhost:DASHBOARD_PORT. */
  authUrl: string;
  /** DASHBOARD_URL, or the auth URL: the base of links in emails. */
  publicUrl: string;
};

// Derivation label: changing it signs everyone out, so it is versioned, never edited.
const AUTH_SECRET_LABEL = "switchyard/dashboard/better-auth-secret/v1";

/** A stable auth secret from the encryption key, so a deployment needs no extra variable. */
export function deriveAuthSecret(encryptionKey: string): string {
  return createHmac("sha256", decodeEncryptionKey(encryptionKey))
    .update(AUTH_SECRET_LABEL)
    .digest("hex");
}

let cached: Env | undefined;

/**
 * Parsed lazily on first use, not at import: `next build` evaluates modules and must
 * not need the runtime environment.
 */
export function getEnv(): Env {
  if (cached) return cached;
  const env = parseEnv(dashboardEnvSchema, process.env);
  cached = {
    ...env,
    authSecret: env.BETTER_AUTH_SECRET ?? deriveAuthSecret(env.SWITCHYARD_ENCRYPTION_KEY),
    authUrl: env.BETTER_AUTH_URL ?? `http://localhost:${env.DASHBOARD_PORT}`,
    publicUrl: (env.DASHBOARD_URL ?? env.BETTER_AUTH_URL ?? `http://localhost:${env.DASHBOARD_PORT}`).replace(/\/+$/, ""),
  };
  return cached;
}

/**
 * The environment "env:NAME" provider key references resolve in, for "Test connection".
 * The proxy resolves them in its own environment; run beside it (as `pnpm start` does),
 * the dashboard sees the same variables.
 */
export function getSecretEnv(): Readonly<Record<string, string | undefined>> {
  return process.env;
}
