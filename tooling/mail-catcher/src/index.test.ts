import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMailCatcher, type MailCatcher } from "./index";

let catcher: MailCatcher;
const dir = mkdtempSync(path.join(tmpdir(), "mail-catcher-"));

beforeAll(async () => {
  catcher = await startMailCatcher({ saveDir: dir });
});
afterAll(() => catcher.close());

describe("mail catcher", () => {
  it("receives mail over real SMTP, parses it, finds it by recipient and saves the raw message", async () => {
    const transport = nodemailer.createTransport(catcher.url);
    await transport.sendMail({ from: "a@example.com", to: "Someone <Bob@Example.com>", subject: "Hello", text: "plain body", html: "<p>html body</p>" });
    await transport.sendMail({ from: "a@example.com", to: "carol@example.com", subject: "Second", text: "x" });
    transport.close();
    const mail = await catcher.nextFor("bob@example.com");
    expect(mail.subject).toBe("Hello");
    expect(mail.text?.trim()).toBe("plain body");
    expect(mail.html).toContain("<p>html body</p>");
    expect((await catcher.nextFor("carol@example.com", 1)).subject).toBe("Second");
    await expect(catcher.nextFor("bob@example.com", 2, 100)).rejects.toThrow(/no email to bob@example.com/);
    const files = readdirSync(dir).filter((f) => f.endsWith(".eml"));
    expect(files).toHaveLength(2);
    expect(files.map((f) => readFileSync(path.join(dir, f), "utf8")).join("\n")).toContain("Subject: Hello");
  });
});
