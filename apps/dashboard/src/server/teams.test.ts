import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  addMembership,
  callerFor,
  createKey,
  createMember,
  expectTrpcError,
  recordingServices,
} from "../../test/fixtures";
import type { SessionUser } from "./trpc";

const REDIS_URL = "redis://127.0.0.1:6379/4";

let prisma: PrismaClient;
/** Every config-changed notice the procedures sent (and published on Redis). */
const published: string[] = [];
const services = recordingServices(REDIS_URL, published, 7);

type Handle =
  | "oscar" // ORG_OWNER acme
  | "olivia" // ORG_ADMIN acme
  | "vera" // VIEWER acme, org-wide
  | "nobody" // MEMBER acme, org-wide (no team)
  | "adam" // TEAM_ADMIN alpha
  | "alice" // MEMBER alpha
  | "val" // VIEWER alpha
  | "bob" // TEAM_ADMIN beta
  | "otto"; // ORG_ADMIN of another organisation
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", other: "", alpha: "", beta: "", gamma: "" };
const memberships = {} as Record<Handle, string>;

async function as(user: Handle | null) {
  return callerFor(prisma, user ? users[user] : null, services);
}

async function roleOf(handle: Handle) {
  return (await prisma.membership.findUnique({ where: { id: memberships[handle] } }))?.role ?? null;
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_teams"));
  await truncateAll(prisma);
  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const alpha = await prisma.team.create({
    data: { orgId: acme.id, slug: "alpha", name: "Alpha" },
  });
  const beta = await prisma.team.create({ data: { orgId: acme.id, slug: "beta", name: "Beta" } });
  const gamma = await prisma.team.create({
    data: { orgId: other.id, slug: "gamma", name: "Gamma" },
  });
  Object.assign(ids, {
    acme: acme.id,
    other: other.id,
    alpha: alpha.id,
    beta: beta.id,
    gamma: gamma.id,
  });
  const plan: [
    Handle,
    string,
    string | null,
    "ORG_OWNER" | "ORG_ADMIN" | "TEAM_ADMIN" | "MEMBER" | "VIEWER",
  ][] = [
    ["oscar", acme.id, null, "ORG_OWNER"],
    ["olivia", acme.id, null, "ORG_ADMIN"],
    ["vera", acme.id, null, "VIEWER"],
    ["nobody", acme.id, null, "MEMBER"],
    ["adam", acme.id, alpha.id, "TEAM_ADMIN"],
    ["alice", acme.id, alpha.id, "MEMBER"],
    ["val", acme.id, alpha.id, "VIEWER"],
    ["bob", acme.id, beta.id, "TEAM_ADMIN"],
    ["otto", other.id, null, "ORG_ADMIN"],
  ];
  for (const [handle, orgId, teamId, role] of plan) {
    const m = await createMember(prisma, {
      email: `${handle}@example.test`,
      orgId,
      role,
      teamId,
      name: handle,
    });
    users[handle] = m.user;
    memberships[handle] = m.membershipId;
  }
  await createKey(prisma, alpha, "alpha-live");
  const revoked = await createKey(prisma, beta, "beta-old");
  await prisma.virtualKey.update({ where: { id: revoked.id }, data: { revokedAt: new Date() } });
  const expired = await createKey(prisma, beta, "beta-expired");
  await prisma.virtualKey.update({
    where: { id: expired.id },
    data: { expiresAt: new Date(Date.now() - 60_000) },
  });
});

afterAll(async () => {
  await prisma?.$disconnect();
});

describe("teams.list", () => {
  it("shows a team member only their team, with limits, member and active key counts", async () => {
    const teams = await (await as("alice")).teams.list({});
    expect(teams).toEqual([
      expect.objectContaining({
        id: ids.alpha,
        name: "Alpha",
        memberCount: 3,
        activeKeyCount: 1,
        rpmLimit: null,
        access: "member",
        canDelete: false,
      }),
    ]);
  });

  it("shows org admins and org-wide viewers every team of their organisation, and nobody else's", async () => {
    const olivia = await (await as("olivia")).teams.list({});
    expect(olivia.map((t) => [t.slug, t.access, t.canDelete])).toEqual([
      ["alpha", "manage", true],
      ["beta", "manage", true],
    ]);
    // Revoked and expired keys are not active.
    expect(olivia.find((t) => t.slug === "beta")?.activeKeyCount).toBe(0);
    const vera = await (await as("vera")).teams.list({});
    expect(vera.map((t) => [t.slug, t.access, t.canDelete])).toEqual([
      ["alpha", "read", false],
      ["beta", "read", false],
    ]);
    expect((await (await as("nobody")).teams.list({})).map((t) => t.slug)).toEqual([]);
    expect((await (await as("otto")).teams.list({})).map((t) => t.slug)).toEqual(["gamma"]);
    await expectTrpcError((await as(null)).teams.list({}), "UNAUTHORIZED");
  });
});

describe("teams.create", () => {
  it("lets org admins create a team with a valid, unique slug", async () => {
    const created = await (
      await as("olivia")
    ).teams.create({ orgId: ids.acme, name: " Delta ", slug: "delta" });
    expect(created).toMatchObject({ name: "Delta", slug: "delta", orgId: ids.acme });
    await expectTrpcError(
      (await as("olivia")).teams.create({ orgId: ids.acme, name: "Again", slug: "delta" }),
      "CONFLICT",
    );
    for (const slug of ["", "Delta", "-delta", "delta-", "del ta", "x".repeat(49)])
      await expectTrpcError(
        (await as("olivia")).teams.create({ orgId: ids.acme, name: "Bad", slug }),
        "BAD_REQUEST",
      );
  });

  it("refuses team admins, members and viewers, and hides other organisations", async () => {
    for (const who of ["adam", "alice", "val", "vera", "nobody"] as const)
      await expectTrpcError(
        (await as(who)).teams.create({ orgId: ids.acme, name: "X", slug: `x-${who}` }),
        "FORBIDDEN",
      );
    await expectTrpcError(
      (await as("otto")).teams.create({ orgId: ids.acme, name: "X", slug: "x-otto" }),
      "NOT_FOUND",
    );
    expect(await prisma.team.count({ where: { slug: { startsWith: "x-" } } })).toBe(0);
  });
});

describe("teams.update", () => {
  it("lets the team's admin rename it and set team-wide limits, and tells the proxies", async () => {
    const before = published.length;
    const updated = await (
      await as("adam")
    ).teams.update({ teamId: ids.alpha, rpmLimit: 120, tpmLimit: 50_000 });
    expect(updated).toMatchObject({ rpmLimit: 120, tpmLimit: 50_000, name: "Alpha" });
    expect(published.slice(before)).toEqual(["teams"]);
    await (await as("olivia")).teams.update({ teamId: ids.alpha, name: "Alpha squad" });
    expect(published.length).toBe(before + 1); // a rename changes nothing for the proxy
    await (await as("adam")).teams.update({ teamId: ids.alpha, rpmLimit: null });
    expect(await prisma.team.findUniqueOrThrow({ where: { id: ids.alpha } })).toMatchObject({
      name: "Alpha squad",
      rpmLimit: null,
      tpmLimit: 50_000,
    });
    await expectTrpcError(
      (await as("adam")).teams.update({ teamId: ids.alpha, rpmLimit: 0 }),
      "BAD_REQUEST",
    );
    await expectTrpcError(
      (await as("adam")).teams.update({ teamId: ids.alpha, tpmLimit: 1.5 }),
      "BAD_REQUEST",
    );
  });

  it("refuses members and viewers (FORBIDDEN) and outsiders (NOT_FOUND)", async () => {
    for (const who of ["alice", "val", "vera"] as const)
      await expectTrpcError(
        (await as(who)).teams.update({ teamId: ids.alpha, rpmLimit: 1 }),
        "FORBIDDEN",
      );
    for (const who of ["bob", "nobody", "otto"] as const)
      await expectTrpcError(
        (await as(who)).teams.update({ teamId: ids.alpha, rpmLimit: 1 }),
        "NOT_FOUND",
      );
    await expectTrpcError(
      (await as("adam")).teams.update({ teamId: ids.beta, name: "Mine now" }),
      "NOT_FOUND",
    );
    expect((await prisma.team.findUniqueOrThrow({ where: { id: ids.alpha } })).rpmLimit).toBeNull();
    expect((await prisma.team.findUniqueOrThrow({ where: { id: ids.beta } })).name).toBe("Beta");
  });
});

describe("teams.delete", () => {
  it("refuses while the team has a working key, and deletes it once none is left", async () => {
    const err = await expectTrpcError(
      (await as("olivia")).teams.delete({ teamId: ids.alpha }),
      "PRECONDITION_FAILED",
    );
    expect(err.message).toContain("1 active key");
    // Beta holds only a revoked and an expired key: it goes, with them and its memberships.
    const before = published.length;
    await (await as("oscar")).teams.delete({ teamId: ids.beta });
    expect(await prisma.team.findUnique({ where: { id: ids.beta } })).toBeNull();
    expect(await prisma.virtualKey.count({ where: { teamId: ids.beta } })).toBe(0);
    expect(await prisma.membership.count({ where: { userId: users.bob.id } })).toBe(0);
    expect(published.slice(before)).toEqual(["teams"]);
    const beta = await prisma.team.create({
      data: { orgId: ids.acme, slug: "beta", name: "Beta" },
    });
    ids.beta = beta.id;
    await addMembership(prisma, users.bob.id, ids.acme, "TEAM_ADMIN", beta.id);
    memberships.bob = (
      await prisma.membership.findFirstOrThrow({ where: { userId: users.bob.id } })
    ).id;
  });

  it("is for org admins only: team admins and viewers get FORBIDDEN, outsiders NOT_FOUND", async () => {
    const delta = await prisma.team.findFirstOrThrow({ where: { slug: "delta" } });
    for (const who of ["adam", "alice", "val", "vera"] as const)
      await expectTrpcError((await as(who)).teams.delete({ teamId: ids.alpha }), "FORBIDDEN");
    for (const who of ["bob", "otto", "nobody"] as const)
      await expectTrpcError((await as(who)).teams.delete({ teamId: ids.alpha }), "NOT_FOUND");
    expect(await prisma.team.findUnique({ where: { id: ids.alpha } })).not.toBeNull();
    await (await as("olivia")).teams.delete({ teamId: delta.id });
    expect(await prisma.team.findUnique({ where: { id: delta.id } })).toBeNull();
  });
});

describe("members", () => {
  it("lists a team's members to anyone who reads it, and nobody else", async () => {
    const rows = await (await as("val")).members.listTeam({ teamId: ids.alpha });
    expect(rows.map((r) => [r.email, r.role])).toEqual([
      ["adam@example.test", "TEAM_ADMIN"],
      ["alice@example.test", "MEMBER"],
      ["val@example.test", "VIEWER"],
    ]);
    expect((await (await as("vera")).members.listTeam({ teamId: ids.alpha })).length).toBe(3);
    for (const who of ["bob", "nobody", "otto"] as const)
      await expectTrpcError((await as(who)).members.listTeam({ teamId: ids.alpha }), "NOT_FOUND");
  });

  it("lists the whole organisation to org admins only", async () => {
    const rows = await (await as("olivia")).members.listOrg({ orgId: ids.acme });
    expect(rows.length).toBe(8);
    expect(rows.find((r) => r.email === "adam@example.test")).toMatchObject({
      teamName: "Alpha squad",
      role: "TEAM_ADMIN",
    });
    for (const who of ["adam", "alice", "vera", "nobody"] as const)
      await expectTrpcError((await as(who)).members.listOrg({ orgId: ids.acme }), "FORBIDDEN");
    await expectTrpcError((await as("otto")).members.listOrg({ orgId: ids.acme }), "NOT_FOUND");
  });

  it("lets a team admin change roles within their team only, and never to an org role", async () => {
    await (await as("adam")).members.setRole({ membershipId: memberships.alice, role: "VIEWER" });
    expect(await roleOf("alice")).toBe("VIEWER");
    await (await as("adam")).members.setRole({ membershipId: memberships.alice, role: "MEMBER" });
    expect(await roleOf("alice")).toBe("MEMBER");
    await expectTrpcError(
      (await as("adam")).members.setRole({ membershipId: memberships.alice, role: "ORG_ADMIN" }),
      "BAD_REQUEST",
    );
    await expectTrpcError(
      (await as("adam")).members.setRole({ membershipId: memberships.alice, role: "ORG_OWNER" }),
      "BAD_REQUEST",
    );
    await expectTrpcError(
      (await as("adam")).members.setRole({ membershipId: memberships.bob, role: "VIEWER" }),
      "NOT_FOUND",
    );
    await expectTrpcError(
      (await as("adam")).members.setRole({ membershipId: memberships.vera, role: "ORG_ADMIN" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("adam")).members.setRole({ membershipId: memberships.olivia, role: "VIEWER" }),
      "FORBIDDEN",
    );
    expect([
      await roleOf("alice"),
      await roleOf("vera"),
      await roleOf("olivia"),
      await roleOf("bob"),
    ]).toEqual(["MEMBER", "VIEWER", "ORG_ADMIN", "TEAM_ADMIN"]);
  });

  it("lets members and viewers change nobody", async () => {
    for (const who of ["alice", "val", "vera"] as const) {
      await expectTrpcError(
        (await as(who)).members.setRole({ membershipId: memberships.val, role: "TEAM_ADMIN" }),
        "FORBIDDEN",
      );
      await expectTrpcError(
        (await as(who)).members.remove({ membershipId: memberships.adam }),
        "FORBIDDEN",
      );
    }
    await expectTrpcError(
      (await as("otto")).members.remove({ membershipId: memberships.alice }),
      "NOT_FOUND",
    );
    await expectTrpcError(
      (await as("nobody")).members.remove({ membershipId: memberships.alice }),
      "NOT_FOUND",
    );
    expect(await roleOf("val")).toBe("VIEWER");
    expect(await roleOf("adam")).toBe("TEAM_ADMIN");
  });

  it("lets only owners make or unmake owners, and never leaves an organisation without one", async () => {
    await expectTrpcError(
      (await as("olivia")).members.setRole({ membershipId: memberships.vera, role: "ORG_OWNER" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("olivia")).members.setRole({ membershipId: memberships.oscar, role: "ORG_ADMIN" }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("olivia")).members.remove({ membershipId: memberships.oscar }),
      "FORBIDDEN",
    );
    // Admins manage admins and viewers.
    await (
      await as("olivia")
    ).members.setRole({ membershipId: memberships.vera, role: "ORG_ADMIN" });
    await (await as("olivia")).members.setRole({ membershipId: memberships.vera, role: "VIEWER" });
    expect(await roleOf("vera")).toBe("VIEWER");

    const last = await expectTrpcError(
      (await as("oscar")).members.setRole({ membershipId: memberships.oscar, role: "ORG_ADMIN" }),
      "PRECONDITION_FAILED",
    );
    expect(last.message).toContain("at least one owner");
    await expectTrpcError(
      (await as("oscar")).members.remove({ membershipId: memberships.oscar }),
      "PRECONDITION_FAILED",
    );
    expect(await roleOf("oscar")).toBe("ORG_OWNER");

    await (
      await as("oscar")
    ).members.setRole({ membershipId: memberships.olivia, role: "ORG_OWNER" });
    await (
      await as("oscar")
    ).members.setRole({ membershipId: memberships.oscar, role: "ORG_ADMIN" });
    expect([await roleOf("olivia"), await roleOf("oscar")]).toEqual(["ORG_OWNER", "ORG_ADMIN"]);
    await expectTrpcError(
      (await as("olivia")).members.remove({ membershipId: memberships.olivia }),
      "PRECONDITION_FAILED",
    );
    // Two owners demoting each other at once: one of them stays owner.
    await (
      await as("olivia")
    ).members.setRole({ membershipId: memberships.oscar, role: "ORG_OWNER" });
    const [first, second] = await Promise.allSettled([
      (await as("olivia")).members.setRole({ membershipId: memberships.oscar, role: "ORG_ADMIN" }),
      (await as("oscar")).members.setRole({ membershipId: memberships.olivia, role: "ORG_ADMIN" }),
    ]);
    expect([first.status, second.status].sort()).toEqual(["fulfilled", "rejected"]);
    expect(
      await prisma.membership.count({
        where: { orgId: ids.acme, teamId: null, role: "ORG_OWNER" },
      }),
    ).toBe(1);
    // Back to one owner (oscar) and one admin (olivia) for the tests below.
    if ((await roleOf("oscar")) !== "ORG_OWNER") {
      await (
        await as("olivia")
      ).members.setRole({ membershipId: memberships.oscar, role: "ORG_OWNER" });
      await (
        await as("oscar")
      ).members.setRole({ membershipId: memberships.olivia, role: "ORG_ADMIN" });
    }
    expect([await roleOf("oscar"), await roleOf("olivia")]).toEqual(["ORG_OWNER", "ORG_ADMIN"]);
  });

  it("lets a team admin remove a member of their team", async () => {
    await (await as("adam")).members.remove({ membershipId: memberships.val });
    expect(await roleOf("val")).toBeNull();
    expect(await prisma.user.findUnique({ where: { id: users.val.id } })).not.toBeNull();
    await expectTrpcError((await as("val")).members.listTeam({ teamId: ids.alpha }), "NOT_FOUND");
  });
});

describe("orgs", () => {
  it("shows settings to any member, and nothing to outsiders", async () => {
    expect(await (await as("alice")).orgs.get({ orgId: ids.acme })).toMatchObject({
      name: "Acme",
      timeZone: "UTC",
      isAdmin: false,
      isOwner: false,
    });
    expect((await (await as("alice")).orgs.list()).map((o) => o.slug)).toEqual(["acme"]);
    expect(await (await as("oscar")).orgs.get({ orgId: ids.acme })).toMatchObject({
      isAdmin: true,
      isOwner: true,
    });
    await expectTrpcError((await as("otto")).orgs.get({ orgId: ids.acme }), "NOT_FOUND");
  });

  it("lets org admins rename and set an IANA time zone, and tells the proxies", async () => {
    const before = published.length;
    const org = await (
      await as("olivia")
    ).orgs.update({ orgId: ids.acme, name: "Acme Corp", timeZone: "europe/paris" });
    expect(org).toMatchObject({ name: "Acme Corp", timeZone: "Europe/Paris" });
    expect(published.slice(before)).toEqual(["orgs"]);
    for (const timeZone of ["Mars/Olympus_Mons", "+01:00", "", "CEST2"])
      await expectTrpcError(
        (await as("olivia")).orgs.update({ orgId: ids.acme, timeZone }),
        "BAD_REQUEST",
      );
    expect(
      (await prisma.organization.findUniqueOrThrow({ where: { id: ids.acme } })).timeZone,
    ).toBe("Europe/Paris");
  });

  it("lets org admins set the request-log retention in days, or keep everything", async () => {
    const set = await (
      await as("olivia")
    ).orgs.update({ orgId: ids.acme, requestLogRetentionDays: 30 });
    expect(set).toMatchObject({ requestLogRetentionDays: 30, timeZone: "Europe/Paris" });
    expect(await (await as("alice")).orgs.get({ orgId: ids.acme })).toMatchObject({
      requestLogRetentionDays: 30,
    });
    for (const days of [0, -1, 3651, 1.5])
      await expectTrpcError(
        (await as("olivia")).orgs.update({ orgId: ids.acme, requestLogRetentionDays: days }),
        "BAD_REQUEST",
      );
    await expectTrpcError(
      (await as("adam")).orgs.update({ orgId: ids.acme, requestLogRetentionDays: 1 }),
      "FORBIDDEN",
    );
    const cleared = await (
      await as("olivia")
    ).orgs.update({ orgId: ids.acme, requestLogRetentionDays: null });
    expect(cleared.requestLogRetentionDays).toBeNull();
  });

  it("refuses team admins, members and viewers (FORBIDDEN) and outsiders (NOT_FOUND)", async () => {
    for (const who of ["adam", "alice", "vera", "nobody"] as const)
      await expectTrpcError(
        (await as(who)).orgs.update({ orgId: ids.acme, timeZone: "UTC" }),
        "FORBIDDEN",
      );
    await expectTrpcError(
      (await as("otto")).orgs.update({ orgId: ids.acme, name: "Mine" }),
      "NOT_FOUND",
    );
    expect(await prisma.organization.findUniqueOrThrow({ where: { id: ids.acme } })).toMatchObject({
      name: "Acme Corp",
      timeZone: "Europe/Paris",
    });
  });
});
