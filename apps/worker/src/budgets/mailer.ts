import nodemailer from "nodemailer";
import type { AlertEmail } from "./email";

/** Sends one alert email; rejects when the SMTP server did not accept it. */
export interface AlertMailer {
  send(to: readonly string[], email: AlertEmail): Promise<void>;
  close(): void;
}

/**
 * An SMTP mailer (nodemailer) for an `smtp://` or `smtps://` URL, e.g.
 * smtp://user:pass@mail.example.com:587. Timeouts are short so an unreachable server
 * fails the run quickly; the alert is then retried by a later run.
 */
export function createSmtpMailer(smtpUrl: string, from: string): AlertMailer {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(to, email) {
      await transport.sendMail({
        from,
        to: [...to],
        subject: email.subject,
        text: email.text,
        html: email.html,
      });
    },
    close() {
      transport.close();
    },
  };
}
