import type { ParsedMail } from "mailparser";
import { startMailCatcher } from "@switchyard/mail-catcher";

/** A real SMTP server on a free loopback port that keeps every message it accepts, parsed. */
export interface TestSmtpServer {
  url: string;
  port: number;
  mails: ParsedMail[];
  close(): Promise<void>;
}

export function startTestSmtpServer(port = 0): Promise<TestSmtpServer> {
  return startMailCatcher({ port });
}
