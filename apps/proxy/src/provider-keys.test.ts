import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import { decodeEncryptionKey, encryptSecret } from "@switchyard/db";
import type { RunningProxy } from "./boot";
import { pickProviderKey, type ProviderEntry } from "./snapshot";
import { call, ENCRYPTION_KEY, MOCK_PROVIDER_KEY, setupHarness, waitFor, type Harness } from "../test/harness";

const KEY_A = "sk-account-a-0001";
const KEY_B = "sk-account-b-0002";
const KEY_DISABLED = "sk-account-c-disabled";
const messages = [{ role: "user", content: "Invent a new holiday and describe its traditions." }];

let h: Harness;
let base: string;
let running: RunningProxy;
let multiId: string;

beforeAll(async () => {
  h = await setupHarness();
  const enc = decodeEncryptionKey(ENCRYPTION_KEY);
  const multi = await h.prisma.providerCredential.create({
    data: {
      slug: "multi",
      type: "openai",
      baseUrl: h.mock.url,
      keys: {
        create: [
          { label: "acct-a", apiKeyRef: "env:ACCOUNT_A_KEY" },
          { label: "acct-b", apiKeyEncrypted: encryptSecret(KEY_B, enc), last4: "0002" },
          { label: "acct-c", apiKeyEncrypted: encryptSecret(KEY_DISABLED, enc), disabledAt: new Date() },
          // Not set in the proxy's environment: left out of the rotation.
          { label: "acct-d", apiKeyRef: "env:NOT_SET_ANYWHERE" },
        ],
      },
    },
  });
  multiId = multi.id;
  const keyless = await h.prisma.providerCredential.create({
    data: { slug: "keyless", type: "openai-compatible", baseUrl: h.mock.url, keys: { create: { label: "off", apiKeyRef: "env:ACCOUNT_A_KEY", disabledAt: new Date() } } },
  });
  await h.prisma.model.createMany({
    data: [
      { name: "multi-model", providerId: multi.id, upstreamModel: "gpt-4o-mini" },
      { name: "keyless-model", providerId: keyless.id, upstreamModel: "llama" },
    ],
  });
  const started = await h.startProxy({ secretEnv: { MOCK_OPENAI_KEY: MOCK_PROVIDER_KEY, ACCOUNT_A_KEY: KEY_A } });
  base = started.url;
  running = started.running;
});
afterAll(async () => h?.close());

async function authorizationsOf(model: string, n: number): Promise<(string | undefined)[]> {
  const seen: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const before = h.mock.requests.length;
    await call(`${base}/v1/chat/completions`, { key: h.keys.main, body: { model, messages } });
    expect(h.mock.requests.length).toBe(before + 1);
    seen.push(h.mock.requests.at(-1)?.headers.authorization);
  }
  return seen;
}

describe("several keys per provider", () => {
  it("uses the enabled keys in turn and never a disabled or unresolvable one", async () => {
    const seen = await authorizationsOf("multi-model", 6);
    expect(seen).toEqual([KEY_A, KEY_B, KEY_A, KEY_B, KEY_A, KEY_B].map((k) => `Bearer ${k}`));
    expect(seen.join()).not.toContain(KEY_DISABLED);
  });

  it("follows a key disabled in the database after the change notice", async () => {
    await h.prisma.providerKey.update({
      where: { providerId_label: { providerId: multiId, label: "acct-a" } },
      data: { disabledAt: new Date() },
    });
    const before = running.snapshot.current;
    await h.redis.publish(CONFIG_CHANGED_CHANNEL, JSON.stringify({ kind: "providers" }));
    await waitFor(() => running.snapshot.current !== before, 5000, "snapshot reload");
    expect(await authorizationsOf("multi-model", 3)).toEqual([KEY_B, KEY_B, KEY_B].map((k) => `Bearer ${k}`));
  });

  it("sends no credential for a provider whose keys are all disabled", async () => {
    const [auth] = await authorizationsOf("keyless-model", 1);
    expect(auth).toBeUndefined();
  });

  it("pickProviderKey cycles over the keys and returns null without any", () => {
    const provider: ProviderEntry = {
      id: "p",
      slug: "p",
      type: "openai",
      baseUrl: null,
      apiVersion: null,
      keys: ["a", "b", "c"].map((label) => ({ id: label, label, apiKey: `sk-${label}` })),
      nextKey: 0,
    };
    expect(Array.from({ length: 7 }, () => pickProviderKey(provider)?.label)).toEqual(["a", "b", "c", "a", "b", "c", "a"]);
    expect(pickProviderKey({ ...provider, keys: [] })).toBeNull();
  });
});
