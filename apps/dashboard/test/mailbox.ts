import type { ParsedMail } from "mailparser";
import { startMailCatcher } from "@switchyard/mail-catcher";

/**
 * An in-process SMTP server on a free loopback port: what the dashboard sends arrives
 * here over real SMTP, parsed by mailparser, so tests read the email a person would get.
 */
export interface Mailbox {
  smtpUrl: string;
  received: ParsedMail[];
  /** The next message to `to` that arrives after `seen` messages, within a few seconds. */
  nextFor(to: string, seen: number): Promise<ParsedMail>;
  stop(): Promise<void>;
}

export async function openMailbox(): Promise<Mailbox> {
  const catcher = await startMailCatcher();
  return {
    smtpUrl: catcher.url,
    received: catcher.mails,
    nextFor: (to, seen) => catcher.nextFor(to, seen),
    stop: () => catcher.close(),
  };
}

/** The invitation token in an email's link (`…/invite/<token>`). */
export function inviteTokenIn(text: string): string {
  const match = /\/invite\/([A-Za-z0-9_-]{43})\b/.exec(text);
  if (!match?.[1]) throw new Error(`no invitation link in:\n${text}`);
  return match[1];
}
