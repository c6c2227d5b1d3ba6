import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyPassword } from "better-auth/crypto";
import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  callerFor,
  createMember,
  createUserWithPassword,
  expectTrpcError,
  recorder,
} from "../../test/fixtures";
import { inviteTokenIn, openMailbox, type Mailbox } from "../../test/mailbox";
import { createSmtpMailer } from "./mailer";
import { hashInvitationToken } from "./routers/invitations/token";
import type { ServerServices } from "./services";
import type { SessionUser } from "./trpc";

const PUBLIC_URL = "https://dash.example.test";

let prisma: PrismaClient;
let mailbox: Mailbox;
let services: ServerServices;
/** Every procedure output, checked at the end for tokens and hashes. */
const outputs: unknown[] = [];
/** Every token that arrived by email. */
const tokens: string[] = [];

type Handle = "oscar" | "olivia" | "vera" | "adam" | "alice" | "val" | "bob";
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", alpha: "", beta: "" };

async function as(user: Handle | SessionUser | null, svc?: ServerServices) {
  const who = typeof user === "string" ? users[user] : user;
  return callerFor(prisma, who, svc ?? services);
}

const record = recorder(outputs);

/** Invites and returns the token from the email that arrived. */
async function invite(
  by: Handle,
  input: {
    email: string;
    teamId: string | null;
    role: "ORG_OWNER" | "ORG_ADMIN" | "TEAM_ADMIN" | "MEMBER" | "VIEWER";
  },
) {
  const seen = mailbox.received.length;
  const row = await record((await as(by)).invitations.create({ orgId: ids.acme, ...input }));
  const mail = await mailbox.nextFor(input.email, seen);
  const token = inviteTokenIn(mail.text ?? "");
  tokens.push(token);
  return { row, mail, token };
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_invitations"));
  await truncateAll(prisma);
  mailbox = await openMailbox();
  services = {
    encryptionKey: () => Buffer.alloc(32, 3),
    secretEnv: () => ({}),
    publishConfigChanged: () => Promise.resolve(true),
    mailer: createSmtpMailer(mailbox.smtpUrl, "Switchyard <noreply@switchyard.test>"),
    publicUrl: () => PUBLIC_URL,
  };
  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const alpha = await prisma.team.create({
    data: { orgId: acme.id, slug: "alpha", name: "Alpha" },
  });
  const beta = await prisma.team.create({ data: { orgId: acme.id, slug: "beta", name: "Beta" } });
  Object.assign(ids, { acme: acme.id, alpha: alpha.id, beta: beta.id });
  const plan: [
    Handle,
    string | null,
    "ORG_OWNER" | "ORG_ADMIN" | "TEAM_ADMIN" | "MEMBER" | "VIEWER",
  ][] = [
    ["oscar", null, "ORG_OWNER"],
    ["olivia", null, "ORG_ADMIN"],
    ["vera", null, "VIEWER"],
    ["adam", alpha.id, "TEAM_ADMIN"],
    ["alice", alpha.id, "MEMBER"],
    ["val", alpha.id, "VIEWER"],
    ["bob", beta.id, "TEAM_ADMIN"],
  ];
  for (const [handle, teamId, role] of plan) {
    const m = await createMember(prisma, {
      email: `${handle}@example.test`,
      orgId: acme.id,
      role,
      teamId,
      name: `${handle[0]!.toUpperCase()}${handle.slice(1)}`,
    });
    users[handle] = m.user;
  }
});

afterAll(async () => {
  await mailbox?.stop();
  await prisma?.$disconnect();
});

describe("invitation of someone without an account", () => {
  let token = "";

  it("emails a link (plain text and HTML) and stores only the token's hash", async () => {
    const sent = await invite("adam", {
      email: " New.Person@Example.test ",
      teamId: ids.alpha,
      role: "MEMBER",
    });
    token = sent.token;
    expect(sent.row).toMatchObject({
      email: "new.person@example.test",
      role: "MEMBER",
      teamId: ids.alpha,
      teamName: "Alpha",
      state: "pending",
    });
    expect(sent.mail.subject).toBe("You are invited to Alpha on Switchyard");
    expect(sent.mail.from?.text).toContain("noreply@switchyard.test");
    expect(sent.mail.text).toContain(`${PUBLIC_URL}/invite/${token}`);
    expect(sent.mail.text).toContain(
      'Adam invited you to join the team "Alpha" of Acme on Switchyard as member.',
    );
    expect(sent.mail.html).toContain(`href="${PUBLIC_URL}/invite/${token}"`);
    expect(Buffer.from(token, "base64url").length).toBe(32);
    const stored = await prisma.invitation.findUniqueOrThrow({ where: { id: sent.row.id } });
    expect(stored.tokenHash).toBe(hashInvitationToken(token));
    expect(JSON.stringify(stored)).not.toContain(token);
    const days = (stored.expiresAt.getTime() - stored.createdAt.getTime()) / 86_400_000;
    expect(days).toBeCloseTo(7, 3);
    expect(stored.invitedById).toBe(users.adam.id);
  });

  it("shows what the link offers to whoever opens it, signed in or not", async () => {
    const info = await record((await as(null)).invitations.lookup({ token }));
    expect(info).toMatchObject({
      state: "pending",
      email: "new.person@example.test",
      orgName: "Acme",
      teamName: "Alpha",
      role: "MEMBER",
      hasAccount: false,
      signedInAs: null,
    });
    await expectTrpcError(
      (await as(null)).invitations.lookup({ token: token.slice(0, -2) + "xx" }),
      "NOT_FOUND",
    );
  });

  it("creates the account, its password and the membership once, and the token then stops working", async () => {
    await expectTrpcError(
      (await as(null)).invitations.acceptNew({ token, name: "New Person", password: "too short" }),
      "BAD_REQUEST",
    );
    const done = await record(
      (await as(null)).invitations.acceptNew({
        token,
        name: "New Person",
        password: "a brand new password",
      }),
    );
    expect(done).toEqual({ email: "new.person@example.test", orgId: ids.acme, teamId: ids.alpha });
    const user = await prisma.user.findUniqueOrThrow({
      where: { email: "new.person@example.test" },
      include: { accounts: true, memberships: true },
    });
    expect(user).toMatchObject({ name: "New Person", emailVerified: true });
    expect(user.accounts).toHaveLength(1);
    expect(user.accounts[0]!.providerId).toBe("credential");
    expect(
      await verifyPassword({ hash: user.accounts[0]!.password!, password: "a brand new password" }),
    ).toBe(true);
    expect(user.memberships.map((m) => [m.orgId, m.teamId, m.role])).toEqual([
      [ids.acme, ids.alpha, "MEMBER"],
    ]);

    const again = await expectTrpcError(
      (await as(null)).invitations.acceptNew({
        token,
        name: "Someone Else",
        password: "another long password",
      }),
      "PRECONDITION_FAILED",
    );
    expect(again.message).toContain("already been used");
    expect((await (await as(null)).invitations.lookup({ token })).state).toBe("accepted");
    expect(await prisma.user.count({ where: { email: "new.person@example.test" } })).toBe(1);

    // The new member sees only their team.
    const newcomer = { id: user.id, email: user.email, name: user.name };
    expect((await (await as(newcomer)).teams.list({})).map((t) => t.slug)).toEqual(["alpha"]);
  });
});

describe("invitation of someone who has an account", () => {
  it("is accepted signed in as that email only", async () => {
    const { token } = await invite("olivia", {
      email: "alice@example.test",
      teamId: ids.beta,
      role: "VIEWER",
    });
    expect(await record((await as("bob")).invitations.lookup({ token }))).toMatchObject({
      hasAccount: true,
      signedInAs: "bob@example.test",
    });
    await expectTrpcError((await as(null)).invitations.accept({ token }), "UNAUTHORIZED");
    const wrong = await expectTrpcError(
      (await as("bob")).invitations.accept({ token }),
      "FORBIDDEN",
    );
    expect(wrong.message).toContain("alice@example.test");
    await expectTrpcError(
      (await as(null)).invitations.acceptNew({
        token,
        name: "Impostor",
        password: "an impostor's password",
      }),
      "CONFLICT",
    );
    expect(await record((await as("alice")).invitations.accept({ token }))).toMatchObject({
      teamId: ids.beta,
    });
    const roles = await prisma.membership.findMany({
      where: { userId: users.alice.id },
      select: { teamId: true, role: true },
    });
    expect(roles).toEqual(
      expect.arrayContaining([
        { teamId: ids.alpha, role: "MEMBER" },
        { teamId: ids.beta, role: "VIEWER" },
      ]),
    );
    await expectTrpcError((await as("alice")).invitations.accept({ token }), "PRECONDITION_FAILED");
  });

  it("works once even when accepted twice at the same moment", async () => {
    const carl = await createUserWithPassword(
      prisma,
      "carl@example.test",
      "a long enough password",
      "Carl",
    );
    const { token } = await invite("olivia", {
      email: "carl@example.test",
      teamId: null,
      role: "VIEWER",
    });
    const results = await Promise.allSettled([
      (await as(carl)).invitations.accept({ token }),
      (await as(carl)).invitations.accept({ token }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(await prisma.membership.count({ where: { userId: carl.id } })).toBe(1);
  });

  it("finds an account whose address has capitals instead of making a second one", async () => {
    const dora = await createUserWithPassword(
      prisma,
      "Dora@Example.test",
      "a long enough password",
      "Dora",
    );
    const { token } = await invite("adam", {
      email: "dora@example.test",
      teamId: ids.alpha,
      role: "VIEWER",
    });
    expect((await (await as(null)).invitations.lookup({ token })).hasAccount).toBe(true);
    await expectTrpcError(
      (await as(null)).invitations.acceptNew({
        token,
        name: "Dora 2",
        password: "a long enough password",
      }),
      "CONFLICT",
    );
    await (await as(dora)).invitations.accept({ token });
    expect(
      await prisma.user.count({
        where: { email: { equals: "dora@example.test", mode: "insensitive" } },
      }),
    ).toBe(1);
  });

  it("refuses to invite someone already a member of that team", async () => {
    const before = mailbox.received.length;
    await expectTrpcError(
      (await as("adam")).invitations.create({
        orgId: ids.acme,
        teamId: ids.alpha,
        email: "alice@example.test",
        role: "VIEWER",
      }),
      "CONFLICT",
    );
    expect(mailbox.received.length).toBe(before);
  });
});

describe("revoke, resend, expiry", () => {
  it("a withdrawn invitation's link says so and cannot be used", async () => {
    const { row, token } = await invite("adam", {
      email: "gone@example.test",
      teamId: ids.alpha,
      role: "VIEWER",
    });
    expect(
      (await record((await as("adam")).invitations.listTeam({ teamId: ids.alpha }))).map(
        (i) => i.email,
      ),
    ).toContain("gone@example.test");
    expect(
      await record((await as("adam")).invitations.revoke({ invitationId: row.id })),
    ).toMatchObject({ state: "revoked" });
    expect((await (await as(null)).invitations.lookup({ token })).state).toBe("revoked");
    const err = await expectTrpcError(
      (await as(null)).invitations.acceptNew({
        token,
        name: "Gone",
        password: "a long enough password",
      }),
      "PRECONDITION_FAILED",
    );
    expect(err.message).toContain("withdrawn");
    expect(
      (await (await as("adam")).invitations.listTeam({ teamId: ids.alpha })).map((i) => i.email),
    ).not.toContain("gone@example.test");
    await expectTrpcError(
      (await as("adam")).invitations.revoke({ invitationId: row.id }),
      "PRECONDITION_FAILED",
    );
    expect(await prisma.user.count({ where: { email: "gone@example.test" } })).toBe(0);
  });

  it("resend mails a new link and the old one stops working", async () => {
    const first = await invite("olivia", {
      email: "late@example.test",
      teamId: null,
      role: "VIEWER",
    });
    await prisma.invitation.update({
      where: { id: first.row.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await (await as(null)).invitations.lookup({ token: first.token })).state).toBe(
      "expired",
    );
    const expired = await expectTrpcError(
      (await as(null)).invitations.acceptNew({
        token: first.token,
        name: "Late",
        password: "a long enough password",
      }),
      "PRECONDITION_FAILED",
    );
    expect(expired.message).toContain("expired");
    expect(
      (await record((await as("olivia")).invitations.listOrg({ orgId: ids.acme }))).find(
        (i) => i.id === first.row.id,
      )?.state,
    ).toBe("expired");

    const seen = mailbox.received.length;
    const resent = await record(
      (await as("olivia")).invitations.resend({ invitationId: first.row.id }),
    );
    expect(resent.state).toBe("pending");
    const second = inviteTokenIn((await mailbox.nextFor("late@example.test", seen)).text ?? "");
    tokens.push(second);
    expect(second).not.toBe(first.token);
    await expectTrpcError((await as(null)).invitations.lookup({ token: first.token }), "NOT_FOUND");
    await record(
      (await as(null)).invitations.acceptNew({
        token: second,
        name: "Late",
        password: "a long enough password",
      }),
    );
    const m = await prisma.membership.findFirstOrThrow({
      where: { user: { email: "late@example.test" } },
    });
    expect([m.teamId, m.role]).toEqual([null, "VIEWER"]);
  });

  it("a new invitation to the same person and scope replaces the pending one", async () => {
    const first = await invite("adam", {
      email: "twice@example.test",
      teamId: ids.alpha,
      role: "VIEWER",
    });
    const second = await invite("adam", {
      email: "twice@example.test",
      teamId: ids.alpha,
      role: "MEMBER",
    });
    expect((await (await as(null)).invitations.lookup({ token: first.token })).state).toBe(
      "revoked",
    );
    expect((await (await as(null)).invitations.lookup({ token: second.token })).state).toBe(
      "pending",
    );
  });

  it("keeps no invitation when the email cannot be sent", async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const broken = {
      ...services,
      mailer: createSmtpMailer(`smtp://127.0.0.1:${closed}`, "x@switchyard.test"),
    };
    const err = await expectTrpcError(
      (await as("adam", broken)).invitations.create({
        orgId: ids.acme,
        teamId: ids.alpha,
        email: "nomail@example.test",
        role: "MEMBER",
      }),
      "INTERNAL_SERVER_ERROR",
    );
    expect(err.message).toContain("could not be sent");
    expect(await prisma.invitation.count({ where: { email: "nomail@example.test" } })).toBe(0);
  });
});

describe("who may invite", () => {
  const attempt = async (
    by: Handle,
    teamId: string | null,
    role: "ORG_OWNER" | "ORG_ADMIN" | "TEAM_ADMIN" | "MEMBER" | "VIEWER",
  ) =>
    (await as(by)).invitations.create({
      orgId: ids.acme,
      teamId,
      role,
      email: `x-${by}-${role.toLowerCase()}@example.test`,
    });

  it("team admins invite to their own team only, with team roles only", async () => {
    await expectTrpcError(attempt("adam", ids.beta, "MEMBER"), "NOT_FOUND");
    await expectTrpcError(attempt("adam", null, "ORG_ADMIN"), "FORBIDDEN");
    await expectTrpcError(attempt("adam", null, "VIEWER"), "FORBIDDEN");
    await expectTrpcError(attempt("adam", ids.alpha, "ORG_ADMIN"), "BAD_REQUEST");
    await expectTrpcError(attempt("adam", ids.alpha, "ORG_OWNER"), "BAD_REQUEST");
    await invite("adam", {
      email: "teamadmin2@example.test",
      teamId: ids.alpha,
      role: "TEAM_ADMIN",
    });
  });

  it("members and viewers (team and org-wide) invite nobody", async () => {
    await expectTrpcError(attempt("alice", ids.alpha, "MEMBER"), "FORBIDDEN");
    await expectTrpcError(attempt("val", ids.alpha, "VIEWER"), "FORBIDDEN");
    await expectTrpcError(attempt("vera", ids.alpha, "VIEWER"), "FORBIDDEN");
    await expectTrpcError(attempt("vera", null, "VIEWER"), "FORBIDDEN");
    // alice is a viewer of beta since she accepted above; val has nothing to do with it.
    await expectTrpcError(attempt("alice", ids.beta, "MEMBER"), "FORBIDDEN");
    await expectTrpcError(attempt("val", ids.beta, "MEMBER"), "NOT_FOUND");
  });

  it("only owners invite owners; admins invite admins and viewers org-wide", async () => {
    await expectTrpcError(attempt("olivia", null, "ORG_OWNER"), "FORBIDDEN");
    await expectTrpcError(attempt("olivia", null, "MEMBER"), "BAD_REQUEST");
    await invite("olivia", { email: "admin2@example.test", teamId: null, role: "ORG_ADMIN" });
    await invite("oscar", { email: "owner2@example.test", teamId: null, role: "ORG_OWNER" });
    expect(await prisma.invitation.count({ where: { email: { startsWith: "x-" } } })).toBe(0);
  });

  it("lists, revokes and resends only within one's own reach", async () => {
    const teamInvite = await prisma.invitation.findFirstOrThrow({
      where: { email: "teamadmin2@example.test" },
    });
    const ownerInvite = await prisma.invitation.findFirstOrThrow({
      where: { email: "owner2@example.test" },
    });
    await expectTrpcError(
      (await as("alice")).invitations.listTeam({ teamId: ids.alpha }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("vera")).invitations.listTeam({ teamId: ids.alpha }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("bob")).invitations.listTeam({ teamId: ids.alpha }),
      "NOT_FOUND",
    );
    await expectTrpcError((await as("adam")).invitations.listOrg({ orgId: ids.acme }), "FORBIDDEN");
    await expectTrpcError(
      (await as("bob")).invitations.revoke({ invitationId: teamInvite.id }),
      "NOT_FOUND",
    );
    await expectTrpcError(
      (await as("alice")).invitations.revoke({ invitationId: teamInvite.id }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("vera")).invitations.resend({ invitationId: teamInvite.id }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("adam")).invitations.revoke({ invitationId: ownerInvite.id }),
      "FORBIDDEN",
    );
    await expectTrpcError(
      (await as("olivia")).invitations.revoke({ invitationId: ownerInvite.id }),
      "FORBIDDEN",
    );
    expect(
      await prisma.invitation.count({
        where: { revokedAt: { not: null }, id: { in: [teamInvite.id, ownerInvite.id] } },
      }),
    ).toBe(0);
    await record((await as("oscar")).invitations.revoke({ invitationId: ownerInvite.id }));
  });
});

describe("secrets", () => {
  it("never returns a token or a token hash", () => {
    expect(tokens.length).toBeGreaterThan(5);
    const all = JSON.stringify(outputs);
    for (const token of tokens) {
      expect(all).not.toContain(token);
      expect(all).not.toContain(hashInvitationToken(token));
    }
    expect(all).not.toContain("tokenHash");
  });
});
