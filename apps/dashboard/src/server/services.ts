// The subpath keeps BullMQ out of the Next.js server bundle.
import { publishConfigChanged } from "@switchyard/jobs/config-changed";
import { decodeEncryptionKey } from "@switchyard/db";
import { getEnv, getSecretEnv } from "../env";
import { createSmtpMailer, type Mailer } from "./mailer";

/** What procedures need beyond the database; tests pass their own. */
export interface ServerServices {
  /** SWITCHYARD_ENCRYPTION_KEY, decoded: provider keys are stored encrypted with it. */
  encryptionKey(): Buffer;
  /** Where "env:NAME" provider key references resolve for "Test connection". */
  secretEnv(): Readonly<Record<string, string | undefined>>;
  /**
   * Tells proxies to reload their snapshot (CONFIG_CHANGED_CHANNEL). Never throws: the
   * write is already saved, and proxies also reload periodically. Returns whether it went out.
   */
  publishConfigChanged(kind: string): Promise<boolean>;
  /** Sends invitation emails (SMTP_URL). Optional so suites that send none need not provide it. */
  mailer?: Mailer;
  /** The dashboard's public base URL (no trailing slash), for links in emails. */
  publicUrl?(): string;
}

/** Tells proxies to reload (fails fast; a Redis outage only warns). */
export function publishOnRedis(redisUrl: string, kind: string, warn: (message: string) => void): Promise<boolean> {
  return publishConfigChanged(redisUrl, { kind, source: "dashboard" }, warn);
}

let decoded: Buffer | undefined;
let smtpMailer: Mailer | undefined;

/** The process's services, reading the environment only when first used (not at build time). */
export const defaultServices: ServerServices = {
  encryptionKey() {
    decoded ??= decodeEncryptionKey(getEnv().SWITCHYARD_ENCRYPTION_KEY);
    return decoded;
  },
  secretEnv: getSecretEnv,
  publishConfigChanged(kind) {
    return publishOnRedis(getEnv().REDIS_URL, kind, (m) => console.warn(`[switchyard] ${m}`));
  },
  mailer: {
    send(message) {
      smtpMailer ??= createSmtpMailer(getEnv().SMTP_URL, getEnv().MAIL_FROM);
      return smtpMailer.send(message);
    },
  },
  publicUrl: () => getEnv().publicUrl,
};
