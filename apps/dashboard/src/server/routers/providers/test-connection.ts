import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { resolveSecretRef } from "@switchyard/config";
import { decryptSecret } from "@switchyard/db";
import { connectionCheckErrorMessage, prepareConnectionCheck } from "@switchyard/providers";
import { orgAdminProcedure } from "../../trpc";
import { visibleProvidersWhere } from "./shared";

/** A connection check gives up after this long (the provider's list-models call is quick). */
export const CONNECTION_CHECK_TIMEOUT_MS = 10_000;

export const providersTestConnectionInput = z.object({
  providerId: z.string().min(1),
  /** The key to check; without one the provider is called with no credential (local servers). */
  keyId: z.string().min(1).optional(),
});

export const connectionCheckResult = z.object({
  ok: z.boolean(),
  /** The provider's HTTP status; null when it could not be reached. */
  status: z.number().int().nullable(),
  latencyMs: z.number().int().nullable(),
  /** What to tell the person: the provider's own error message when it refused. Never the key. */
  message: z.string(),
});
export type ConnectionCheckResult = z.infer<typeof connectionCheckResult>;

/**
 * Calls the provider's free list-models endpoint with one key, from the server. Works
 * on every provider the admin can see, config-file ones included (it changes nothing).
 */
export const providersTestConnection = orgAdminProcedure
  .input(providersTestConnectionInput)
  .output(connectionCheckResult)
  .mutation(async ({ ctx, input }): Promise<ConnectionCheckResult> => {
    const provider = await ctx.db.providerCredential.findFirst({
      where: { id: input.providerId, ...visibleProvidersWhere(ctx.adminOrgIds) },
      select: { type: true, baseUrl: true, apiVersion: true },
    });
    if (!provider) throw new TRPCError({ code: "NOT_FOUND", message: "No such provider." });
    const fail = (message: string): ConnectionCheckResult => ({ ok: false, status: null, latencyMs: null, message });

    let apiKey: string | null = null;
    if (input.keyId) {
      const key = await ctx.db.providerKey.findFirst({
        where: { id: input.keyId, providerId: input.providerId },
        select: { apiKeyRef: true, apiKeyEncrypted: true },
      });
      if (!key) throw new TRPCError({ code: "NOT_FOUND", message: "No such key on this provider." });
      if (key.apiKeyRef) {
        apiKey = resolveSecretRef(key.apiKeyRef, ctx.services.secretEnv()) ?? null;
        if (apiKey === null)
          return fail(`${key.apiKeyRef.slice(4)} is not set in the dashboard's environment (the proxy reads it from its own), so it cannot be tested here.`);
      } else if (key.apiKeyEncrypted) {
        try {
          apiKey = decryptSecret(key.apiKeyEncrypted, ctx.services.encryptionKey());
        } catch {
          return fail("The key cannot be decrypted: it was stored under another SWITCHYARD_ENCRYPTION_KEY. Rotate it.");
        }
      }
    }

    let check;
    try {
      check = prepareConnectionCheck(provider.type, { baseUrl: provider.baseUrl, apiKey, apiVersion: provider.apiVersion });
    } catch (err) {
      return fail(`The provider is misconfigured: ${(err as Error).message}.`);
    }
    if (!check) return fail(`This gateway version cannot call providers of type "${provider.type}".`);

    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const res = await fetch(check.url, {
        method: check.method,
        headers: check.headers,
        redirect: "manual",
        signal: AbortSignal.timeout(CONNECTION_CHECK_TIMEOUT_MS),
      });
      const text = await res.text();
      const latencyMs = elapsed();
      if (res.ok) return { ok: true, status: res.status, latencyMs, message: `HTTP ${res.status} in ${latencyMs} ms` };
      return { ok: false, status: res.status, latencyMs, message: connectionCheckErrorMessage(res.status, text, apiKey) };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === "TimeoutError")
        return { ok: false, status: null, latencyMs: elapsed(), message: `No answer within ${CONNECTION_CHECK_TIMEOUT_MS / 1000} s.` };
      const reason = e.cause?.code ?? e.cause?.message ?? e.message;
      return { ok: false, status: null, latencyMs: elapsed(), message: `Could not reach the provider (${reason}).` };
    }
  });
