import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import {
  ConfigSource,
  createPrismaClient,
  decodeEncryptionKey,
  decryptSecret,
  encryptSecret,
  type PrismaClient,
  type Role,
} from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { startMockUpstream, type MockUpstream } from "@switchyard/mock-upstream";
import { addMembership, createUserWithPassword, expectTrpcError, recorder } from "../../test/fixtures";
import { createCaller } from "./root";
import { publishOnRedis, type ServerServices } from "./services";
import { createContextForUser, type SessionUser } from "./trpc";

const REDIS_URL = "redis://127.0.0.1:6379/4";
const ENC_KEY = decodeEncryptionKey("ef".repeat(32));
const CLEAR_KEY = "sk-dashboard-clear-key-7731";
const ROTATED_KEY = "sk-dashboard-rotated-key-9902";
const ENV_KEY_VALUE = "sk-from-the-environment-4455";

let prisma: PrismaClient;
let mock: MockUpstream;
let sub: Redis;
const notices: string[] = [];
const warnings: string[] = [];
/** Every procedure output of this suite, checked at the end for secrets. */
const outputs: unknown[] = [];
const users = {} as Record<"owner" | "admin" | "teamAdmin" | "member" | "viewer" | "otherAdmin", SessionUser>;
const ids = { acme: "", other: "", fileProvider: "", fileKey: "", otherProvider: "" };

const services = (redisUrl = REDIS_URL): ServerServices => ({
  encryptionKey: () => ENC_KEY,
  secretEnv: () => ({ ACME_ENV_KEY: ENV_KEY_VALUE }),
  publishConfigChanged: (kind) => publishOnRedis(redisUrl, kind, (m) => warnings.push(m)),
});

async function callerFor(user: SessionUser | null, svc = services()) {
  const caller = createCaller(await createContextForUser(prisma, user, svc));
  return caller;
}

const record = recorder(outputs);

async function noticeAfter(count: number): Promise<string> {
  const deadline = Date.now() + 3000;
  while (notices.length <= count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(notices.length).toBeGreaterThan(count);
  return notices[count]!;
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_providers"));
  await truncateAll(prisma);
  mock = await startMockUpstream();
  sub = new Redis(REDIS_URL);
  await sub.subscribe(CONFIG_CHANGED_CHANNEL);
  sub.on("message", (_channel: string, message: string) => notices.push(message));

  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const team = await prisma.team.create({ data: { orgId: acme.id, slug: "t", name: "T" } });
  Object.assign(ids, { acme: acme.id, other: other.id });
  const people: [keyof typeof users, Role, string | null, string][] = [
    ["owner", "ORG_OWNER", null, acme.id],
    ["admin", "ORG_ADMIN", null, acme.id],
    ["teamAdmin", "TEAM_ADMIN", team.id, acme.id],
    ["member", "MEMBER", team.id, acme.id],
    ["viewer", "VIEWER", null, acme.id],
    ["otherAdmin", "ORG_ADMIN", null, other.id],
  ];
  for (const [handle, role, teamId, orgId] of people) {
    const u = await createUserWithPassword(prisma, `${handle}@acme.test`, "a long enough password");
    users[handle] = { id: u.id, email: u.email, name: u.name };
    await addMembership(prisma, u.id, orgId, role, teamId);
  }
  const file = await prisma.providerCredential.create({
    data: {
      slug: "file-openai",
      type: "openai",
      baseUrl: mock.url,
      source: ConfigSource.CONFIG_FILE,
      keys: { create: { label: "default", apiKeyRef: "env:ACME_ENV_KEY", source: ConfigSource.CONFIG_FILE } },
    },
    include: { keys: true },
  });
  const otherProvider = await prisma.providerCredential.create({
    data: { slug: "other-private", type: "openai", orgId: other.id, source: ConfigSource.DASHBOARD },
  });
  Object.assign(ids, { fileProvider: file.id, fileKey: file.keys[0]!.id, otherProvider: otherProvider.id });
});

afterAll(async () => {
  sub?.disconnect();
  await mock?.close();
  await prisma?.$disconnect();
});

beforeEach(() => mock.setFault(null));

describe("providers: who may do what", () => {
  it("refuses anonymous callers", async () => {
    const anon = await callerFor(null);
    await expectTrpcError(anon.providers.list(), "UNAUTHORIZED");
    await expectTrpcError(anon.providers.create({ slug: "x", type: "openai" }), "UNAUTHORIZED");
  });

  it("lets members, viewers and team admins read but not call any mutation", async () => {
    for (const handle of ["member", "viewer", "teamAdmin"] as const) {
      const c = await callerFor(users[handle]);
      const list = await record(c.providers.list());
      expect(list.canManage).toBe(false);
      expect(list.providers.map((p) => p.slug)).toEqual(["file-openai"]);
      expect(list.providers.every((p) => !p.editable)).toBe(true);
      await expectTrpcError(c.providers.create({ slug: `by-${handle.toLowerCase()}`, type: "openai" }), "FORBIDDEN");
      await expectTrpcError(c.providers.addKey({ providerId: ids.fileProvider, label: "x", apiKey: CLEAR_KEY }), "FORBIDDEN");
      await expectTrpcError(c.providers.rotateKey({ keyId: ids.fileKey, apiKey: CLEAR_KEY }), "FORBIDDEN");
      await expectTrpcError(c.providers.setKeyEnabled({ keyId: ids.fileKey, enabled: false }), "FORBIDDEN");
      await expectTrpcError(c.providers.deleteKey({ keyId: ids.fileKey }), "FORBIDDEN");
      await expectTrpcError(c.providers.testConnection({ providerId: ids.fileProvider, keyId: ids.fileKey }), "FORBIDDEN");
    }
    expect(await prisma.providerCredential.count({ where: { slug: { startsWith: "by-" } } })).toBe(0);
  });

  it("shows an org its own and instance-wide providers, never another org's", async () => {
    const acmeList = await record((await callerFor(users.admin)).providers.list());
    expect(acmeList.canManage).toBe(true);
    expect(acmeList.providers.map((p) => p.slug)).not.toContain("other-private");
    const otherList = await record((await callerFor(users.otherAdmin)).providers.list());
    expect(otherList.providers.map((p) => p.slug).sort()).toEqual(["file-openai", "other-private"]);
    const admin = await callerFor(users.admin);
    await expectTrpcError(admin.providers.addKey({ providerId: ids.otherProvider, label: "x", apiKey: CLEAR_KEY }), "NOT_FOUND");
    await expectTrpcError(admin.providers.testConnection({ providerId: ids.otherProvider }), "NOT_FOUND");
  });

  it("keeps config-file providers and keys read-only in the dashboard", async () => {
    const admin = await callerFor(users.admin);
    const list = await record(admin.providers.list());
    const file = list.providers.find((p) => p.slug === "file-openai")!;
    expect(file).toMatchObject({ source: "CONFIG_FILE", editable: false });
    expect(file.keys).toEqual([
      expect.objectContaining({ label: "default", storage: "env", envName: "ACME_ENV_KEY", last4: null, enabled: true, source: "CONFIG_FILE" }),
    ]);
    await expectTrpcError(admin.providers.addKey({ providerId: ids.fileProvider, label: "extra", apiKey: CLEAR_KEY }), "PRECONDITION_FAILED");
    const err = await expectTrpcError(admin.providers.setKeyEnabled({ keyId: ids.fileKey, enabled: false }), "PRECONDITION_FAILED");
    expect(err.message).toMatch(/switchyard\.yaml/);
    await expectTrpcError(admin.providers.deleteKey({ keyId: ids.fileKey }), "PRECONDITION_FAILED");
    expect(await prisma.providerKey.findUnique({ where: { id: ids.fileKey } })).toMatchObject({ disabledAt: null });
  });
});

describe("providers: managing keys", () => {
  let providerId = "";
  let keyId = "";

  it("creates a dashboard provider owned by the admin's org and tells the proxies", async () => {
    const before = notices.length;
    const res = await record(
      (await callerFor(users.owner)).providers.create({ slug: "acme-openai", type: "openai", baseUrl: mock.url }),
    );
    providerId = res.provider.id;
    expect(res).toMatchObject({ published: true, provider: { slug: "acme-openai", source: "DASHBOARD", orgId: ids.acme, editable: true, keys: [] } });
    expect(JSON.parse(await noticeAfter(before))).toMatchObject({ kind: "providers", source: "dashboard" });
    const admin = await callerFor(users.admin);
    await expectTrpcError(admin.providers.create({ slug: "acme-openai", type: "openai" }), "CONFLICT");
    await expectTrpcError(admin.providers.create({ slug: "local-vllm", type: "openai-compatible" }), "BAD_REQUEST");
    await expectTrpcError(admin.providers.create({ slug: "elsewhere", type: "openai", orgId: ids.other }), "FORBIDDEN");
  });

  it("stores a new key encrypted and shows only its last 4 characters", async () => {
    const admin = await callerFor(users.admin);
    const res = await record(admin.providers.addKey({ providerId, label: "acct-a", apiKey: `  ${CLEAR_KEY}\n` }));
    keyId = res.key.id;
    expect(res.key).toMatchObject({ label: "acct-a", storage: "encrypted", last4: "7731", enabled: true, source: "DASHBOARD", rotatedAt: null });
    const row = await prisma.providerKey.findUniqueOrThrow({ where: { id: keyId } });
    expect(row.apiKeyEncrypted).not.toContain(CLEAR_KEY);
    expect(decryptSecret(row.apiKeyEncrypted!, ENC_KEY)).toBe(CLEAR_KEY);
    await expectTrpcError(admin.providers.addKey({ providerId, label: "acct-a", apiKey: "sk-another-one-0000" }), "CONFLICT");
    await expectTrpcError(admin.providers.addKey({ providerId, label: "acct-b", apiKey: "env:OPENAI_API_KEY" }), "BAD_REQUEST");
  });

  it("tests the connection with the key, server side, reporting status and latency", async () => {
    const admin = await callerFor(users.admin);
    const before = mock.requests.length;
    const ok = await record(admin.providers.testConnection({ providerId, keyId }));
    expect(ok).toMatchObject({ ok: true, status: 200 });
    expect(ok.latencyMs).toBeGreaterThanOrEqual(0);
    expect(ok.latencyMs).toBeLessThan(10_000);
    expect(mock.requests.length).toBe(before + 1);
    expect(mock.requests.at(-1)).toMatchObject({ method: "GET", path: "/v1/models" });
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${CLEAR_KEY}`);

    mock.setFault("status:401");
    const refused = await record(admin.providers.testConnection({ providerId, keyId }));
    expect(refused).toMatchObject({ ok: false, status: 401, message: "HTTP 401: Incorrect API key provided." });

    // A config-file key read from the environment can be tested too.
    mock.setFault(null);
    const env = await record(admin.providers.testConnection({ providerId: ids.fileProvider, keyId: ids.fileKey }));
    expect(env).toMatchObject({ ok: true, status: 200 });
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${ENV_KEY_VALUE}`);
  });

  it("reports an unreachable provider without failing the call", async () => {
    const admin = await callerFor(users.admin);
    // A port that was free a moment ago: nobody listens there.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const dead = await record(admin.providers.create({ slug: "acme-dead", type: "openai-compatible", baseUrl: `http://127.0.0.1:${port}/v1` }));
    const res = await record(admin.providers.testConnection({ providerId: dead.provider.id }));
    expect(res).toMatchObject({ ok: false, status: null });
    expect(res.message).toMatch(/Could not reach the provider \(ECONNREFUSED\)/);
  });

  it("rotates the secret in place and records when", async () => {
    const admin = await callerFor(users.admin);
    const before = await prisma.providerKey.findUniqueOrThrow({ where: { id: keyId } });
    const res = await record(admin.providers.rotateKey({ keyId, apiKey: ROTATED_KEY }));
    expect(res.key).toMatchObject({ id: keyId, label: "acct-a", last4: "9902" });
    expect(res.key.rotatedAt).toBeInstanceOf(Date);
    const after = await prisma.providerKey.findUniqueOrThrow({ where: { id: keyId } });
    expect(after.apiKeyEncrypted).not.toBe(before.apiKeyEncrypted);
    expect(decryptSecret(after.apiKeyEncrypted!, ENC_KEY)).toBe(ROTATED_KEY);
    await record(admin.providers.testConnection({ providerId, keyId }));
    expect(mock.requests.at(-1)?.headers.authorization).toBe(`Bearer ${ROTATED_KEY}`);
  });

  it("disables and re-enables a key", async () => {
    const admin = await callerFor(users.admin);
    const off = await record(admin.providers.setKeyEnabled({ keyId, enabled: false }));
    expect(off.key).toMatchObject({ enabled: false });
    expect((await prisma.providerKey.findUniqueOrThrow({ where: { id: keyId } })).disabledAt).not.toBeNull();
    const on = await record(admin.providers.setKeyEnabled({ keyId, enabled: true }));
    expect(on.key).toMatchObject({ enabled: true, disabledAt: null });
  });

  it("saves a write when Redis is down, warning instead of failing", async () => {
    const admin = await callerFor(users.admin, services("redis://127.0.0.1:1/0"));
    const warned = warnings.length;
    const res = await record(admin.providers.setKeyEnabled({ keyId, enabled: false }));
    expect(res).toMatchObject({ published: false, key: { enabled: false } });
    expect(warnings.length).toBe(warned + 1);
    expect(warnings.at(-1)).toMatch(/could not notify proxies/);
  });

  it("deletes a dashboard key", async () => {
    const admin = await callerFor(users.admin);
    expect(await record(admin.providers.deleteKey({ keyId }))).toEqual({ published: true });
    expect(await prisma.providerKey.findUnique({ where: { id: keyId } })).toBeNull();
    await expectTrpcError(admin.providers.deleteKey({ keyId }), "NOT_FOUND");
  });

  it("never returned a clear key or a ciphertext", async () => {
    const stored = encryptSecret(CLEAR_KEY, ENC_KEY);
    const json = JSON.stringify(outputs);
    expect(outputs.length).toBeGreaterThan(10);
    for (const secret of [CLEAR_KEY, ROTATED_KEY, ENV_KEY_VALUE, stored.slice(0, 16)]) expect(json).not.toContain(secret);
    expect(json).not.toContain("apiKeyEncrypted");
    expect(json).not.toContain("apiKeyRef");
    for (const k of await prisma.providerKey.findMany()) if (k.apiKeyEncrypted) expect(json).not.toContain(k.apiKeyEncrypted.slice(0, 24));
  });
});
