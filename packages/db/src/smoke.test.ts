import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "./client";
import { prepareTestDatabase, truncateAll } from "./testing";
import { decodeEncryptionKey, decryptSecret, encryptSecret, generateVirtualKey, hashVirtualKey } from "./secrets";

let prisma: PrismaClient;
beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_db"));
  await truncateAll(prisma);
});
afterAll(async () => prisma.$disconnect());

describe("database", () => {
  it("applies the committed migrations and enforces request-id uniqueness", async () => {
    const row = {
      requestId: "req_1",
      createdAt: new Date(),
      orgId: "o",
      teamId: "t",
      virtualKeyId: "k",
      endpoint: "chat.completions",
      requestedModel: "m",
      usageSource: "provider",
      cacheStatus: "miss",
      status: 200,
      latencyMs: 5,
      stream: false,
      costNanoUsd: 123n,
    };
    await prisma.requestLog.create({ data: row });
    const again = await prisma.requestLog.createMany({ data: [row], skipDuplicates: true });
    expect(again.count).toBe(0);
    expect((await prisma.requestLog.findUniqueOrThrow({ where: { requestId: "req_1" } })).costNanoUsd).toBe(123n);
  });
});

describe("secrets", () => {
  const key = decodeEncryptionKey("a".repeat(64));
  it("round-trips a provider key and rejects tampering", () => {
    const enc = encryptSecret("sk-provider-123", key);
    expect(enc).not.toContain("sk-provider");
    expect(decryptSecret(enc, key)).toBe("sk-provider-123");
    const raw = Buffer.from(enc, "base64");
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => decryptSecret(raw.toString("base64"), key)).toThrow();
  });
  it("generates sk-sy- keys whose hash is what we store", () => {
    const { key: vk, hash, prefix } = generateVirtualKey();
    expect(vk.startsWith("sk-sy-")).toBe(true);
    expect(hash).toBe(hashVirtualKey(vk));
    expect(vk.startsWith(prefix)).toBe(true);
    expect(hash).toHaveLength(64);
  });
});
