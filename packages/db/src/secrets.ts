import { createCipheriv, createDecipheriv, hash, randomBytes, timingSafeEqual } from "node:crypto";
import { VIRTUAL_KEY_PREFIX, VIRTUAL_KEY_VISIBLE_CHARS } from "@switchyard/contracts";

/** Decodes SWITCHYARD_ENCRYPTION_KEY (64 hex or 44 base64 chars) to 32 bytes. */
export function decodeEncryptionKey(key: string): Buffer {
  const buf = /^[0-9a-fA-F]{64}$/.test(key) ? Buffer.from(key, "hex") : Buffer.from(key, "base64");
  if (buf.length !== 32) throw new Error("SWITCHYARD_ENCRYPTION_KEY must decode to 32 bytes");
  return buf;
}

/** AES-256-GCM; output is base64(iv[12] | tag[16] | ciphertext). */
export function encryptSecret(plaintext: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString("base64");
}

export function decryptSecret(encoded: string, key: Buffer): string {
  const raw = Buffer.from(encoded, "base64");
  if (raw.length < 29) throw new Error("encrypted secret is truncated");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}

/**
 * Virtual keys are 32 random bytes, so a plain SHA-256 is a sound storage hash (no
 * dictionary to attack) and cheap enough to compute on every request.
 */
export function hashVirtualKey(key: string): string {
  // One-shot hash (Node ≥ 20.12): no Hash object per request on the proxy's auth path.
  return hash("sha256", key, "hex");
}

export function generateVirtualKey(): { key: string; hash: string; prefix: string } {
  const key = VIRTUAL_KEY_PREFIX + randomBytes(32).toString("base64url");
  return { key, hash: hashVirtualKey(key), prefix: key.slice(0, VIRTUAL_KEY_VISIBLE_CHARS) };
}

export function safeEqualHex(a: string, b: string): boolean {
  const ba = Buffer.from(a, "hex");
  const bb = Buffer.from(b, "hex");
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
