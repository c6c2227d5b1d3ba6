import { describe, expect, it } from "vitest";
import { capUtf8, ibanValid, logBodies, luhnValid, redactText } from "./redact";

describe("redactText", () => {
  it("masks emails, bearer tokens and API keys", () => {
    const out = redactText('{"content":"mail jane.doe+x@example.co.uk, curl -H \\"Authorization: Bearer abc.DEF_123-xyz\\" key sk-proj-AbCdEf1234567890 and sk-sy-Zz9_Yy8-Xx7Ww6 or sy-live0123456789 AKIAIOSFODNN7EXAMPLE"}');
    expect(out).toBe(
      '{"content":"mail [REDACTED_EMAIL], curl -H \\"Authorization: Bearer [REDACTED_TOKEN]\\" key [REDACTED_KEY] and [REDACTED_KEY] or [REDACTED_KEY] [REDACTED_KEY]"}',
    );
  });

  it("masks card numbers only when the Luhn check passes", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(redactText("card 4111 1111 1111 1111 exp")).toBe("card [REDACTED_CARD] exp");
    expect(redactText("card 5500-0000-0000-0004.")).toBe("card [REDACTED_CARD].");
    // 16 digits failing Luhn (an order number) stay.
    expect(redactText("order 4111111111111112")).toBe("order 4111111111111112");
  });

  it("masks IBANs only when mod-97 holds", () => {
    expect(ibanValid("DE89370400440532013000")).toBe(true);
    expect(ibanValid("DE89370400440532013001")).toBe(false);
    expect(redactText("pay to DE89 3704 0044 0532 0130 00 today")).toBe("pay to [REDACTED_IBAN] today");
    expect(redactText("GB82WEST12345698765432")).toBe("[REDACTED_IBAN]");
    expect(redactText("GB82WEST12345698765433")).toBe("GB82WEST12345698765433");
  });

  it("masks phone numbers but leaves ids, counts, timestamps and dates alone", () => {
    expect(redactText("call +1 (555) 123-4567 or 06 12 34 56 78 now")).toBe("call [REDACTED_PHONE] or [REDACTED_PHONE] now");
    expect(redactText("+44 20 7946 0958")).toBe("[REDACTED_PHONE]");
    const json = '{"created":1721234567,"max_tokens":1024,"date":"2024-10-01","ip":"192.168.100.200","seed":12345678}';
    expect(redactText(json)).toBe(json);
  });
});

describe("logBodies", () => {
  it("is null when off, verbatim when full, redacted when redacted", () => {
    expect(logBodies("off", "x", "y", 100)).toBeNull();
    expect(logBodies("full", "me@example.com", "ok", 100)).toEqual({ request: "me@example.com", response: "ok", redacted: false, truncated: false });
    expect(logBodies("redacted", "me@example.com", null, 100)).toEqual({ request: "[REDACTED_EMAIL]", response: "", redacted: true, truncated: false });
  });

  it("caps each body in UTF-8 bytes without splitting a character, and flags it", () => {
    expect(capUtf8("héllo", 2)).toEqual({ text: "h", truncated: true }); // "é" is 2 bytes: not cut in half
    expect(capUtf8("héllo", 3)).toEqual({ text: "hé", truncated: true });
    expect(logBodies("full", "a".repeat(10), "b", 4)).toEqual({ request: "aaaa", response: "b", redacted: false, truncated: true });
    // Redaction happens before the cap: a card cut in half is never left in clear.
    expect(logBodies("redacted", "4111111111111111", "", 8)?.request).toBe("[REDACTE");
  });
});
