import { z } from "zod";

export const orgSettings = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  /** IANA time zone; budget periods are calendar periods in it. */
  timeZone: z.string(),
  /** Days of request log kept (the worker deletes older rows; charts use rollups and keep everything); null: all. */
  requestLogRetentionDays: z.number().int().nullable(),
  isAdmin: z.boolean(),
  isOwner: z.boolean(),
});

/** True when Intl knows the IANA zone name ("Europe/Paris", "UTC"). */
export function isValidTimeZone(timeZone: string): boolean {
  // Intl also takes UTC offsets ("+01:00"); those are not IANA names and have no DST rules.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(timeZone)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Intl's canonical spelling of a zone ("europe/paris" → "Europe/Paris"). */
export function canonicalTimeZone(timeZone: string): string {
  return new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
}
