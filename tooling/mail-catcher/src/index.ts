import { mkdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

/**
 * A real SMTP server on loopback that keeps every message it accepts, parsed by
 * mailparser: tests read the email a person would get, over real SMTP.
 */
export interface MailCatcher {
  /** For SMTP_URL: `smtp://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Every message received so far, in order. */
  mails: ParsedMail[];
  /** The first message to `to` (case-insensitive) after the first `seen` messages; waits up to `timeoutMs`. */
  nextFor(to: string, seen?: number, timeoutMs?: number): Promise<ParsedMail>;
  close(): Promise<void>;
}

export interface MailCatcherOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Also write each message's raw source to `<dir>/<time>-<n>.eml`. */
  saveDir?: string;
  onMail?: (mail: ParsedMail) => void;
}

export function addressedTo(mail: ParsedMail, to: string): boolean {
  const want = to.trim().toLowerCase();
  return [mail.to ?? []].flat().some((a) => a.value.some((v) => v.address?.toLowerCase() === want));
}

export async function startMailCatcher(opts: MailCatcherOptions = {}): Promise<MailCatcher> {
  const mails: ParsedMail[] = [];
  if (opts.saveDir) mkdirSync(opts.saveDir, { recursive: true });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (mail) => {
            mails.push(mail);
            if (opts.saveDir) {
              const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${mails.length}.eml`;
              writeFileSync(path.join(opts.saveDir, name), raw);
            }
            opts.onMail?.(mail);
            done();
          },
          (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    async nextFor(to, seen = 0, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = mails.slice(seen).find((m) => addressedTo(m, to));
        if (mail) return mail;
        if (Date.now() > deadline) throw new Error(`no email to ${to} arrived within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
