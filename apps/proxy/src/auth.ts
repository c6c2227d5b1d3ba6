import type { IncomingHttpHeaders } from "node:http";
import { AppError, VIRTUAL_KEY_PREFIX } from "@switchyard/contracts";
import { hashVirtualKey } from "@switchyard/db/secrets";
import type { KeyEntry, Snapshot } from "./snapshot";

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** `Authorization: Bearer <key>` or `x-api-key: <key>` (what the Anthropic SDK sends). */
export function extractVirtualKey(headers: IncomingHttpHeaders): string | null {
  const auth = header(headers, "authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1]) return m[1];
  }
  const apiKey = header(headers, "x-api-key")?.trim();
  return apiKey || null;
}

/**
 * Looks the key up in the in-memory snapshot by its SHA-256 (no database read per
 * request). Every failure is a 401; the message never echoes the key.
 */
export function authenticate(snapshot: Snapshot, headers: IncomingHttpHeaders, now = Date.now()): KeyEntry {
  const key = extractVirtualKey(headers);
  if (!key) {
    throw new AppError(
      "invalid_api_key",
      "You didn't provide an API key. Send your Switchyard key as 'Authorization: Bearer sk-sy-…' or 'x-api-key'.",
    );
  }
  const entry = key.startsWith(VIRTUAL_KEY_PREFIX) ? snapshot.keysByHash.get(hashVirtualKey(key)) : undefined;
  if (!entry) throw new AppError("invalid_api_key", "Incorrect API key provided.");
  if (entry.revokedAt !== null && entry.revokedAt <= now) throw new AppError("invalid_api_key", "This API key has been revoked.");
  if (entry.expiresAt !== null && entry.expiresAt <= now) throw new AppError("invalid_api_key", "This API key has expired.");
  if (entry.graceEndsAt !== null && entry.graceEndsAt <= now) {
    throw new AppError("invalid_api_key", "This API key was rotated and its grace period has ended; use the new key.");
  }
  return entry;
}

export function isModelAllowed(key: KeyEntry, publicName: string): boolean {
  return key.allowedModels.size === 0 || key.allowedModels.has(publicName);
}

const MAX_TAGS = 32;

/**
 * `x-switchyard-tags: team=search,env=prod` → {team: "search", env: "prod"}. A part
 * without "=" or with an empty key is a 400: silently dropping attribution would make
 * the cost reports wrong without anyone noticing.
 */
export function parseTagsHeader(value: string | string[] | undefined): Record<string, string> {
  const raw = Array.isArray(value) ? value.join(",") : value;
  if (raw === undefined || raw.trim() === "") return {};
  const tags: Record<string, string> = {};
  for (const part of raw.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    const k = eq === -1 ? "" : part.slice(0, eq).trim();
    const v = eq === -1 ? "" : part.slice(eq + 1).trim();
    if (!k || k.length > 64 || v.length > 256) {
      throw new AppError("invalid_request", `Malformed x-switchyard-tags: expected comma-separated key=value pairs, got "${part.trim().slice(0, 80)}".`, {
        param: "x-switchyard-tags",
      });
    }
    tags[k] = v;
  }
  if (Object.keys(tags).length > MAX_TAGS) {
    throw new AppError("invalid_request", `x-switchyard-tags allows at most ${MAX_TAGS} tags.`, { param: "x-switchyard-tags" });
  }
  return tags;
}
