import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, hashVirtualKey, type PrismaClient, type Role } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  callerFor,
  createMember,
  expectTrpcError,
  recorder,
  recordingServices,
} from "../../../../test/fixtures";
import type { SessionUser } from "../../trpc";

const REDIS_URL = "redis://127.0.0.1:6379/4";
const HOUR = 3600;

type Handle = "owner" | "adminA" | "alice" | "amy" | "vic" | "vera" | "bob" | "outsider";
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", other: "", teamA: "", teamB: "", teamC: "" };
let prisma: PrismaClient;
const published: string[] = [];
/** Every procedure output of this suite, searched at the end for clear keys and hashes. */
const outputs: unknown[] = [];
const clearKeys: string[] = [];

const services = recordingServices(REDIS_URL, published, 1);

async function as(handle: Handle | null) {
  return callerFor(prisma, handle ? users[handle] : null, services);
}

const record = recorder(outputs);

async function newKey(
  handle: Handle,
  teamId: string,
  extra: { userId?: string | null; name?: string } = {},
) {
  const created = await record(
    (await as(handle)).keys.create({ teamId, name: extra.name ?? "k", userId: extra.userId }),
  );
  clearKeys.push(created.key);
  return created;
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_keys"));
  await truncateAll(prisma);
  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const teamA = await prisma.team.create({
    data: { orgId: acme.id, slug: "alpha", name: "Alpha" },
  });
  const teamB = await prisma.team.create({ data: { orgId: acme.id, slug: "beta", name: "Beta" } });
  const teamC = await prisma.team.create({
    data: { orgId: other.id, slug: "gamma", name: "Gamma" },
  });
  Object.assign(ids, {
    acme: acme.id,
    other: other.id,
    teamA: teamA.id,
    teamB: teamB.id,
    teamC: teamC.id,
  });
  const people: [Handle, Role, string | null, string][] = [
    ["owner", "ORG_OWNER", null, acme.id],
    ["adminA", "TEAM_ADMIN", teamA.id, acme.id],
    ["alice", "MEMBER", teamA.id, acme.id],
    ["amy", "MEMBER", teamA.id, acme.id],
    ["vic", "VIEWER", teamA.id, acme.id],
    ["vera", "VIEWER", null, acme.id],
    ["bob", "MEMBER", teamB.id, acme.id],
    ["outsider", "ORG_ADMIN", null, other.id],
  ];
  for (const [handle, role, teamId, orgId] of people) {
    const m = await createMember(prisma, { email: `${handle}@acme.test`, orgId, role, teamId });
    users[handle] = m.user;
  }
  const provider = await prisma.providerCredential.create({
    data: { slug: "openai-main", type: "openai" },
  });
  await prisma.model.create({
    data: { name: "gpt-4o-mini", providerId: provider.id, upstreamModel: "gpt-4o-mini" },
  });
  await prisma.model.create({
    data: { name: "other-private", providerId: provider.id, upstreamModel: "x", orgId: other.id },
  });
  await prisma.route.create({
    data: { alias: "default-chat", targets: [{ model: "gpt-4o-mini" }] },
  });
});

afterAll(async () => {
  // No output of any procedure ever carried a clear key again, nor any hash.
  const hashes = (await prisma.virtualKey.findMany({ select: { keyHash: true } })).map(
    (k) => k.keyHash,
  );
  const created = outputs.filter((o) => typeof o === "object" && o !== null && "key" in o).length;
  const text = JSON.stringify(outputs);
  for (const h of hashes) expect(text).not.toContain(h);
  for (const k of clearKeys) expect(text.split(k).length - 1).toBe(1);
  expect(created).toBe(clearKeys.length);
  await prisma?.$disconnect();
});

describe("keys.create", () => {
  it("returns the clear key once and stores only its SHA-256 and visible prefix", async () => {
    const before = published.length;
    const created = await record(
      (await as("alice")).keys.create({
        teamId: ids.teamA,
        name: "alice-laptop",
        allowedModels: ["gpt-4o-mini", "default-chat"],
        rpmLimit: 60,
        tpmLimit: 10_000,
        tags: { env: "dev", project: "search" },
        expiresAt: new Date(Date.now() + 24 * HOUR * 1000),
      }),
    );
    clearKeys.push(created.key);
    expect(created.key).toMatch(/^sk-sy-[A-Za-z0-9_-]{43}$/);
    const row = await prisma.virtualKey.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.keyHash).toBe(hashVirtualKey(created.key));
    expect(row.prefix).toBe(created.key.slice(0, 12));
    expect(JSON.stringify(row)).not.toContain(created.key);
    expect(row).toMatchObject({
      teamId: ids.teamA,
      orgId: ids.acme,
      userId: users.alice.id,
      allowedModels: ["gpt-4o-mini", "default-chat"],
      rpmLimit: 60,
      tpmLimit: 10_000,
      tags: { env: "dev", project: "search" },
    });
    expect(published.slice(before)).toEqual(["keys"]);

    const listed = await record((await as("alice")).keys.list({}));
    const mine = listed.find((k) => k.id === created.id);
    expect(mine).toMatchObject({
      prefix: row.prefix,
      userEmail: "alice@acme.test",
      canManage: true,
      tags: row.tags,
    });
    expect(mine).not.toHaveProperty("key");
    expect(mine).not.toHaveProperty("keyHash");
  });

  it("binds a member's key to themselves and refuses binding it to a teammate", async () => {
    const unbound = await newKey("alice", ids.teamA, { userId: null });
    expect((await prisma.virtualKey.findUniqueOrThrow({ where: { id: unbound.id } })).userId).toBe(
      users.alice.id,
    );
    await expectTrpcError(
      (await as("alice")).keys.create({ teamId: ids.teamA, name: "x", userId: users.amy.id }),
      "FORBIDDEN",
    );
  });

  it("lets a team admin bind a key to a team member or nobody, not to an outsider", async () => {
    const forAmy = await newKey("adminA", ids.teamA, { userId: users.amy.id });
    expect(forAmy.userId).toBe(users.amy.id);
    const shared = await newKey("adminA", ids.teamA);
    expect(shared.userId).toBeNull();
    await expectTrpcError(
      (await as("adminA")).keys.create({ teamId: ids.teamA, name: "x", userId: users.bob.id }),
      "BAD_REQUEST",
    );
  });

  it("refuses other teams (NOT_FOUND), viewers (FORBIDDEN) and anonymous callers", async () => {
    await expectTrpcError(
      (await as("bob")).keys.create({ teamId: ids.teamA, name: "x" }),
      "NOT_FOUND",
    );
    await expectTrpcError(
      (await as("outsider")).keys.create({ teamId: ids.teamA, name: "x" }),
      "NOT_FOUND",
    );
    await expectTrpcError(
      (await as("vic")).keys.create({ teamId: ids.teamA, name: "x" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("vera")).keys.create({ teamId: ids.teamA, name: "x" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as(null)).keys.create({ teamId: ids.teamA, name: "x" }),
      "UNAUTHORIZED",
    );
    expect(await prisma.virtualKey.count({ where: { name: "x" } })).toBe(0);
  });

  it("accepts only models and routes the organisation knows", async () => {
    const alice = await as("alice");
    const err = await expectTrpcError(
      alice.keys.create({
        teamId: ids.teamA,
        name: "bad",
        allowedModels: ["gpt-4o-mini", "gpt-9"],
      }),
      "BAD_REQUEST",
    );
    expect(err.message).toContain("gpt-9");
    // Another organisation's model is unknown here.
    await expectTrpcError(
      alice.keys.create({ teamId: ids.teamA, name: "bad", allowedModels: ["other-private"] }),
      "BAD_REQUEST",
    );
    const okForOther = await newKey("outsider", ids.teamC);
    expect(okForOther.teamId).toBe(ids.teamC);
  });

  it("validates tags like the x-switchyard-tags header, and the expiry", async () => {
    const alice = await as("alice");
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`t${i}`, "v"]));
    for (const tags of [
      many,
      { ["k".repeat(65)]: "v" },
      { k: "v".repeat(257) },
      { "a=b": "v" },
      { "": "v" },
    ]) {
      await expectTrpcError(
        alice.keys.create({ teamId: ids.teamA, name: "bad", tags }),
        "BAD_REQUEST",
      );
    }
    const max = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`${"k".repeat(60)}${i}`, "v".repeat(256)]),
    );
    clearKeys.push(
      (await record(alice.keys.create({ teamId: ids.teamA, name: "max-tags", tags: max }))).key,
    );
    await expectTrpcError(
      alice.keys.create({ teamId: ids.teamA, name: "bad", expiresAt: new Date(Date.now() - 1000) }),
      "BAD_REQUEST",
    );
    await expectTrpcError(
      alice.keys.create({ teamId: ids.teamA, name: "bad", rpmLimit: 0 }),
      "BAD_REQUEST",
    );
    expect(await prisma.virtualKey.count({ where: { name: "bad" } })).toBe(0);
  });
});

describe("keys.createOptions and keys.teams", () => {
  it("offers a member only themselves and a team admin the team's members", async () => {
    const forAlice = await (await as("alice")).keys.createOptions({ teamId: ids.teamA });
    expect(forAlice.users.map((u) => u.email)).toEqual(["alice@acme.test"]);
    expect(forAlice.canBindOthers).toBe(false);
    expect(forAlice.models).toEqual(["gpt-4o-mini"]);
    expect(forAlice.routes).toEqual(["default-chat"]);
    const forAdmin = await (await as("adminA")).keys.createOptions({ teamId: ids.teamA });
    expect(forAdmin.users.map((u) => u.email)).toEqual([
      "adminA@acme.test",
      "alice@acme.test",
      "amy@acme.test",
      "vic@acme.test",
    ]);
    await expectTrpcError((await as("bob")).keys.createOptions({ teamId: ids.teamA }), "NOT_FOUND");
    await expectTrpcError((await as("vic")).keys.createOptions({ teamId: ids.teamA }), "FORBIDDEN");
  });

  it("lists the visible teams with the user's access", async () => {
    expect(await (await as("alice")).keys.teams({})).toEqual([
      expect.objectContaining({ id: ids.teamA, access: "member", orgAdmin: false }),
    ]);
    const owner = await (await as("owner")).keys.teams({});
    expect(owner.map((t) => [t.slug, t.access, t.orgAdmin])).toEqual([
      ["alpha", "manage", true],
      ["beta", "manage", true],
    ]);
    expect((await (await as("vera")).keys.teams({})).map((t) => [t.slug, t.access])).toEqual([
      ["alpha", "read"],
      ["beta", "read"],
    ]);
  });
});

describe("keys.list", () => {
  it("never shows team A's keys to team B's member or another organisation", async () => {
    const bobKey = await newKey("bob", ids.teamB);
    const forBob = await record((await as("bob")).keys.list({}));
    expect(forBob.map((k) => k.id)).toEqual([bobKey.id]);
    await expectTrpcError((await as("bob")).keys.list({ teamId: ids.teamA }), "FORBIDDEN");
    const forOutsider = await record((await as("outsider")).keys.list({}));
    expect(forOutsider.every((k) => k.teamId === ids.teamC)).toBe(true);
  });

  it("marks which keys a member may manage: their own only", async () => {
    const listed = await record((await as("alice")).keys.list({}));
    expect(listed.length).toBeGreaterThan(2);
    for (const k of listed) expect(k.canManage).toBe(k.userId === users.alice.id);
    const forVic = await record((await as("vic")).keys.list({}));
    expect(forVic.length).toBe(listed.length);
    expect(forVic.every((k) => !k.canManage)).toBe(true);
  });
});

describe("keys.update", () => {
  it("edits a member's own key and republishes", async () => {
    const k = await newKey("alice", ids.teamA);
    const before = published.length;
    await (
      await as("alice")
    ).keys.update({
      keyId: k.id,
      name: "renamed",
      allowedModels: ["default-chat"],
      rpmLimit: null,
      tpmLimit: 500,
      tags: { env: "prod" },
    });
    expect(await prisma.virtualKey.findUniqueOrThrow({ where: { id: k.id } })).toMatchObject({
      name: "renamed",
      allowedModels: ["default-chat"],
      rpmLimit: null,
      tpmLimit: 500,
      tags: { env: "prod" },
    });
    expect(published.slice(before)).toEqual(["keys"]);
  });

  it("refuses a teammate's key, other teams, viewers and bad values", async () => {
    const amys = await newKey("adminA", ids.teamA, { userId: users.amy.id });
    await expectTrpcError(
      (await as("alice")).keys.update({ keyId: amys.id, name: "mine" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("vic")).keys.update({ keyId: amys.id, name: "mine" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("bob")).keys.update({ keyId: amys.id, name: "mine" }),
      "NOT_FOUND",
    );
    await expectTrpcError(
      (await as("amy")).keys.update({ keyId: amys.id, allowedModels: ["nope"] }),
      "BAD_REQUEST",
    );
    await expectTrpcError(
      (await as("amy")).keys.update({ keyId: amys.id, expiresAt: new Date(Date.now() - 1) }),
      "BAD_REQUEST",
    );
    expect((await prisma.virtualKey.findUniqueOrThrow({ where: { id: amys.id } })).name).toBe("k");
  });
});

describe("keys.revoke", () => {
  it("lets a member revoke their own key, idempotently", async () => {
    const k = await newKey("alice", ids.teamA);
    const first = await (await as("alice")).keys.revoke({ keyId: k.id });
    expect(first.alreadyRevoked).toBe(false);
    const second = await (await as("alice")).keys.revoke({ keyId: k.id });
    expect(second).toEqual({ id: k.id, revokedAt: first.revokedAt, alreadyRevoked: true });
    expect((await prisma.virtualKey.findUniqueOrThrow({ where: { id: k.id } })).revokedAt).toEqual(
      first.revokedAt,
    );
    await expectTrpcError(
      (await as("alice")).keys.update({ keyId: k.id, name: "again" }),
      "BAD_REQUEST",
    );
  });

  it("refuses a member revoking a teammate's key, team B, viewers and other orgs", async () => {
    const amys = await newKey("adminA", ids.teamA, { userId: users.amy.id });
    await expectTrpcError((await as("alice")).keys.revoke({ keyId: amys.id }), "FORBIDDEN");
    await expectTrpcError((await as("vic")).keys.revoke({ keyId: amys.id }), "FORBIDDEN");
    await expectTrpcError((await as("vera")).keys.revoke({ keyId: amys.id }), "FORBIDDEN");
    await expectTrpcError((await as("bob")).keys.revoke({ keyId: amys.id }), "NOT_FOUND");
    await expectTrpcError((await as("outsider")).keys.revoke({ keyId: amys.id }), "NOT_FOUND");
    expect(
      (await prisma.virtualKey.findUniqueOrThrow({ where: { id: amys.id } })).revokedAt,
    ).toBeNull();
    // The team admin may.
    await (await as("adminA")).keys.revoke({ keyId: amys.id });
    expect(
      (await prisma.virtualKey.findUniqueOrThrow({ where: { id: amys.id } })).revokedAt,
    ).not.toBeNull();
  });
});

describe("keys.rotate", () => {
  it("replaces the secret of the same key and keeps the old secret valid until the grace ends", async () => {
    const old = await record(
      (await as("alice")).keys.create({
        teamId: ids.teamA,
        name: "rotating",
        allowedModels: ["gpt-4o-mini"],
        rpmLimit: 5,
        tags: { app: "crm" },
        expiresAt: new Date(Date.now() + 48 * HOUR * 1000),
      }),
    );
    clearKeys.push(old.key);
    const before = Date.now();
    const rotated = await record(
      (await as("alice")).keys.rotate({ keyId: old.id, graceSeconds: HOUR }),
    );
    const after = Date.now();
    clearKeys.push(rotated.key);

    // Same key: id, settings, budgets and usage history carry on; only the secret changes.
    expect(rotated.id).toBe(old.id);
    expect(rotated.key).not.toBe(old.key);
    const row = await prisma.virtualKey.findUniqueOrThrow({ where: { id: old.id } });
    expect(row.keyHash).toBe(hashVirtualKey(rotated.key));
    expect(row.prefix).toBe(rotated.key.slice(0, row.prefix.length));
    expect(row.previousKeyHash).toBe(hashVirtualKey(old.key));
    expect(row.revokedAt).toBeNull();
    expect(row).toMatchObject({
      name: "rotating",
      allowedModels: ["gpt-4o-mini"],
      rpmLimit: 5,
      tags: { app: "crm" },
    });
    const until = row.previousKeyExpiresAt!.getTime();
    expect(until).toBeGreaterThanOrEqual(before + HOUR * 1000);
    expect(until).toBeLessThanOrEqual(after + HOUR * 1000);
    expect(rotated.oldKeyValidUntil.getTime()).toBe(until);

    // Rotating again drops the older secret at once; revoking stops the key (every secret of it).
    const again = await record((await as("alice")).keys.rotate({ keyId: old.id, graceSeconds: 0 }));
    clearKeys.push(again.key);
    const row2 = await prisma.virtualKey.findUniqueOrThrow({ where: { id: old.id } });
    expect(row2.keyHash).toBe(hashVirtualKey(again.key));
    expect(row2.previousKeyHash).toBeNull();
    const cut = await (await as("alice")).keys.revoke({ keyId: old.id });
    expect(cut.alreadyRevoked).toBe(false);
    await expectTrpcError((await as("alice")).keys.rotate({ keyId: old.id }), "BAD_REQUEST");
  });

  it("more than 7 days of grace is refused", async () => {
    const k = await newKey("adminA", ids.teamA);
    await expectTrpcError(
      (await as("adminA")).keys.rotate({ keyId: k.id, graceSeconds: 7 * 24 * HOUR + 1 }),
      "BAD_REQUEST",
    );
    const row = await prisma.virtualKey.findUniqueOrThrow({ where: { id: k.id } });
    expect(row.rotatedAt).toBeNull();
  });

  it("refuses a member rotating a teammate's key, other teams and viewers", async () => {
    const amys = await newKey("adminA", ids.teamA, { userId: users.amy.id });
    const keysBefore = await prisma.virtualKey.count();
    await expectTrpcError(
      (await as("alice")).keys.rotate({ keyId: amys.id, graceSeconds: 60 }),
      "FORBIDDEN",
    );
    await expectTrpcError((await as("vic")).keys.rotate({ keyId: amys.id }), "FORBIDDEN");
    await expectTrpcError((await as("bob")).keys.rotate({ keyId: amys.id }), "NOT_FOUND");
    expect(await prisma.virtualKey.count()).toBe(keysBefore);
    const after = await prisma.virtualKey.findUniqueOrThrow({ where: { id: amys.id } });
    expect(after.revokedAt).toBeNull();
    expect(after.rotatedAt).toBeNull();
  });
});
