/**
 * Body logging (Team.bodyLogging): the request and response kept on the usage event,
 * masked first when the team chose "redacted", and capped at PROXY_BODY_LOG_MAX_BYTES.
 * Headers are never part of it. The patterns below mask the personal data and secrets
 * people paste into prompts; they work on the raw text (JSON included) and replace each
 * match with a bracketed label, so the JSON stays readable.
 */
import type { RequestBodies } from "@switchyard/contracts";
import type { BodyLogging } from "./snapshot";

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** "Bearer <token>" anywhere (a pasted curl command, an Authorization header in a prompt). */
const BEARER = /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi;
/**
 * API keys by their well-known prefixes: OpenAI/Anthropic/Switchyard "sk-…" (sk-proj-,
 * sk-ant-, sk-sy-), "sy-…", Stripe-style "sk_live_…", Google "AIza…", AWS "AKIA…",
 * GitHub "ghp_…"/"github_pat_…", Slack "xox?-…", Groq "gsk_…", xAI "xai-…".
 */
const API_KEY =
  /\b(?:(?:sk|sy|pk|rk)-[A-Za-z0-9_-]{8,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|AIza[0-9A-Za-z_-]{30,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,})/g;
/** 13–19 digits, optionally in groups separated by spaces or dashes; masked only when the Luhn check passes. */
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
/** Two letters, two check digits, 11–30 alphanumerics (optionally in groups of four); masked only when mod-97 holds. */
const IBAN = /\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b/g;
/**
 * Phone numbers: an optional +country code and 8–15 digits in groups. To leave ids,
 * timestamps and token counts alone, a bare run of digits is not a phone number: it
 * needs a leading "+" or "(", or at least two separators. Dates and dotted quads are skipped.
 */
const PHONE = /(?<![\w+])(?:\+|\()?\d[\d\s().-]{6,}\d(?![\w])/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function ibanValid(candidate: string): boolean {
  const iban = candidate.replace(/ /g, "");
  if (iban.length < 15 || iban.length > 34) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const v = ch >= "A" && ch <= "Z" ? String(ch.charCodeAt(0) - 55) : ch;
    for (const c of v) rem = (rem * 10 + (c.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

function looksLikePhone(match: string): boolean {
  const digits = match.replace(/\D/g, "").length;
  if (digits < 8 || digits > 15) return false;
  if (/^\d{4}-\d{2}-\d{2}/.test(match) || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(match)) return false;
  if (match.startsWith("+") || match.startsWith("(")) return true;
  return (match.match(/[\s().-]/g) ?? []).length >= 2;
}

/** Masks emails, phone numbers, card numbers (Luhn), IBANs (mod-97), bearer tokens and API keys. */
export function redactText(text: string): string {
  return text
    .replace(BEARER, "Bearer [REDACTED_TOKEN]")
    .replace(API_KEY, "[REDACTED_KEY]")
    .replace(EMAIL, "[REDACTED_EMAIL]")
    .replace(IBAN, (m) => (ibanValid(m) ? "[REDACTED_IBAN]" : m))
    .replace(CARD, (m) => {
      const digits = m.replace(/\D/g, "");
      return digits.length >= 13 && luhnValid(digits) ? "[REDACTED_CARD]" : m;
    })
    .replace(PHONE, (m) => {
      // The match may have swallowed trailing spaces or a closing bracket: keep them.
      const core = m.replace(/[\s(]+$/, "");
      return looksLikePhone(core) ? "[REDACTED_PHONE]" + m.slice(core.length) : m;
    });
}

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function capUtf8(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= maxBytes) return { text, truncated: false };
  let end = maxBytes;
  // Back up to the start of a character (continuation bytes are 10xxxxxx).
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return { text: buf.subarray(0, end).toString("utf8"), truncated: true };
}

/**
 * The bodies for the usage event: null when the team logs none; redacted before the
 * cap (so a cut never leaves half a card number in clear).
 */
export function logBodies(mode: BodyLogging, request: string | null, response: string | null, maxBytes: number): RequestBodies | null {
  if (mode === "off") return null;
  const redacted = mode === "redacted";
  const prepare = (t: string | null) => capUtf8(redacted ? redactText(t ?? "") : (t ?? ""), maxBytes);
  const req = prepare(request);
  const res = prepare(response);
  return { request: req.text, response: res.text, redacted, truncated: req.truncated || res.truncated };
}
