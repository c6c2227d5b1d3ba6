import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient, type Role } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { callerFor, createMember, expectTrpcError, recordingServices } from "../../../../test/fixtures";
import type { SessionUser } from "../../trpc";
import type { RouteSettings } from "./shared";

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/4";

type Handle = "olivia" | "mia" | "vera" | "otto";
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", other: "", fileRoute: "" };
let prisma: PrismaClient;
const published: string[] = [];
const services = recordingServices(REDIS_URL, published, 9);

async function as(handle: Handle) {
  return callerFor(prisma, users[handle], services);
}

/** Input type of routes.create's `route` (defaults not yet applied). */
type RouteInput = Omit<RouteSettings, "strict" | "options"> & Partial<Pick<RouteSettings, "strict" | "options">>;

const weighted = (alias: string, extra: Partial<RouteInput> = {}): RouteInput => ({
  alias,
  strategy: "weighted",
  targets: [
    { model: "gpt-4o-mini", weight: 3 },
    { model: "acme-llama", weight: 1 },
  ],
  ...extra,
});

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_routes"));
  await truncateAll(prisma);
  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const alpha = await prisma.team.create({ data: { orgId: acme.id, slug: "alpha", name: "Alpha" } });
  Object.assign(ids, { acme: acme.id, other: other.id });
  const people: [Handle, Role, string | null, string][] = [
    ["olivia", "ORG_ADMIN", null, acme.id],
    ["mia", "MEMBER", alpha.id, acme.id],
    ["vera", "VIEWER", null, acme.id],
    ["otto", "ORG_ADMIN", null, other.id],
  ];
  for (const [handle, role, teamId, orgId] of people)
    users[handle] = (await createMember(prisma, { email: `${handle}@routes.test`, orgId, role, teamId })).user;

  const provider = await prisma.providerCredential.create({ data: { slug: "local", type: "openai-compatible" } });
  await prisma.model.createMany({
    data: [
      { name: "gpt-4o-mini", providerId: provider.id, upstreamModel: "gpt-4o-mini", source: "CONFIG_FILE" },
      { name: "claude-haiku", providerId: provider.id, upstreamModel: "claude-3-5-haiku", source: "CONFIG_FILE" },
      { name: "embed-small", providerId: provider.id, upstreamModel: "text-embedding-3-small", source: "CONFIG_FILE" },
      { name: "acme-llama", providerId: provider.id, upstreamModel: "llama3", orgId: acme.id },
      { name: "other-private", providerId: provider.id, upstreamModel: "mystery", orgId: other.id },
    ],
  });
  const fileRoute = await prisma.route.create({
    data: {
      alias: "default-chat",
      strategy: "fallback",
      targets: [{ model: "gpt-4o-mini" }, { model: "claude-haiku" }],
      source: "CONFIG_FILE",
    },
  });
  ids.fileRoute = fileRoute.id;
});

beforeEach(() => {
  published.length = 0;
});

afterAll(async () => {
  await prisma?.$disconnect();
});

describe("routes.create", () => {
  it("lets an org admin add a weighted route of the organisation and tells proxies to reload", async () => {
    const created = await (await as("olivia")).routes.create({
      orgId: ids.acme,
      route: weighted("acme-chat", {
        options: {
          sticky: true,
          maxTokens: { default: 512, cap: 4096 },
          cache: { ttlSeconds: 600, scope: "team", semantic: { embeddingModel: "embed-small", threshold: 0.9, maxTemperature: 0.2 } },
          retry: { maxAttempts: 3, deadlineMs: 20_000, onEmptyLength: true },
        },
      }),
    });
    expect(created.alias).toBe("acme-chat");
    const stored = await prisma.route.findUniqueOrThrow({ where: { id: created.id } });
    expect(stored).toMatchObject({ orgId: ids.acme, source: "DASHBOARD", strategy: "weighted", strict: false });
    expect(stored.targets).toEqual([
      { model: "gpt-4o-mini", weight: 3 },
      { model: "acme-llama", weight: 1 },
    ]);
    expect(stored.options).toEqual({
      sticky: true,
      maxTokens: { default: 512, cap: 4096 },
      cache: { ttlSeconds: 600, scope: "team", semantic: { embeddingModel: "embed-small", threshold: 0.9, maxTemperature: 0.2 } },
      retry: { maxAttempts: 3, deadlineMs: 20_000, onEmptyLength: true },
    });
    expect(published).toEqual(["routes"]);
  });

  it("lets an org admin add a conditional route with a default target", async () => {
    await (await as("olivia")).routes.create({
      orgId: ids.acme,
      route: {
        alias: "acme-by-tier",
        strategy: "conditional",
        targets: [
          { model: "claude-haiku", when: { tags: { tier: ["gold", "platinum"] }, user: "u-1" } },
          { model: "gpt-4o-mini" },
        ],
      },
    });
    const stored = await prisma.route.findUniqueOrThrow({ where: { alias: "acme-by-tier" } });
    expect(stored.targets).toEqual([
      { model: "claude-haiku", when: { tags: { tier: ["gold", "platinum"] }, user: "u-1" } },
      { model: "gpt-4o-mini" },
    ]);
  });

  it("refuses members and viewers", async () => {
    for (const h of ["mia", "vera"] as const)
      await expectTrpcError((await as(h)).routes.create({ orgId: ids.acme, route: weighted(`by-${h}`) }), "FORBIDDEN");
    expect(await prisma.route.count({ where: { alias: { in: ["by-mia", "by-vera"] } } })).toBe(0);
    expect(published).toEqual([]);
  });

  it("refuses an admin of another organisation, without revealing the organisation", async () => {
    await expectTrpcError((await as("otto")).routes.create({ orgId: ids.acme, route: weighted("otto-in-acme") }), "NOT_FOUND");
    expect(await prisma.route.count({ where: { alias: "otto-in-acme" } })).toBe(0);
  });

  it("refuses an alias that is a model name or another route's alias", async () => {
    const olivia = await as("olivia");
    const byModel = await expectTrpcError(olivia.routes.create({ orgId: ids.acme, route: weighted("gpt-4o-mini") }), "CONFLICT");
    expect(byModel.message).toContain("model name");
    // Another organisation's model name is taken too: names are unique on the instance.
    await expectTrpcError(olivia.routes.create({ orgId: ids.acme, route: weighted("other-private") }), "CONFLICT");
    const byRoute = await expectTrpcError(olivia.routes.create({ orgId: ids.acme, route: weighted("default-chat") }), "CONFLICT");
    expect(byRoute.message).toContain("already exists");
  });

  it("refuses targets the organisation's keys cannot call", async () => {
    const err = await expectTrpcError(
      (await as("olivia")).routes.create({
        orgId: ids.acme,
        route: { alias: "sneaky", strategy: "fallback", targets: [{ model: "other-private" }, { model: "nope" }] },
      }),
      "BAD_REQUEST",
    );
    expect(err.message).toBe("Unknown models: other-private, nope.");
    // Otto's organisation cannot target Acme's custom model either.
    await expectTrpcError(
      (await as("otto")).routes.create({ orgId: ids.other, route: { alias: "otto-r", strategy: "fallback", targets: [{ model: "acme-llama" }] } }),
      "BAD_REQUEST",
    );
    await expectTrpcError(
      (await as("olivia")).routes.create({
        orgId: ids.acme,
        route: weighted("bad-embed", { options: { cache: { ttlSeconds: 60, scope: "org", semantic: { embeddingModel: "other-private", threshold: 0.9, maxTemperature: 0.3 } } } }),
      }),
      "BAD_REQUEST",
    );
  });

  it("refuses settings the strategy would ignore or cannot use", async () => {
    const olivia = await as("olivia");
    const bad: RouteInput[] = [
      // weights on a fallback route
      { alias: "r1", strategy: "fallback", targets: [{ model: "gpt-4o-mini", weight: 2 }] },
      // zero weight
      { alias: "r2", strategy: "weighted", targets: [{ model: "gpt-4o-mini", weight: 0 }] },
      // a conditional route without any condition
      { alias: "r3", strategy: "conditional", targets: [{ model: "gpt-4o-mini" }] },
      // an empty condition would match everything
      { alias: "r4", strategy: "conditional", targets: [{ model: "gpt-4o-mini", when: {} }] },
      // a condition on a weighted route
      { alias: "r5", strategy: "weighted", targets: [{ model: "gpt-4o-mini", when: { user: "x" } }] },
      // the same model twice
      { alias: "r6", strategy: "fallback", targets: [{ model: "gpt-4o-mini" }, { model: "gpt-4o-mini" }] },
      // sticky on a fallback route
      { alias: "r7", strategy: "fallback", targets: [{ model: "gpt-4o-mini" }], options: { sticky: true } },
      // default above cap
      { alias: "r8", strategy: "fallback", targets: [{ model: "gpt-4o-mini" }], options: { maxTokens: { default: 900, cap: 100 } } },
      // no targets
      { alias: "r9", strategy: "fallback", targets: [] },
    ];
    for (const route of bad) await expectTrpcError(olivia.routes.create({ orgId: ids.acme, route }), "BAD_REQUEST");
    expect(await prisma.route.count({ where: { alias: { in: bad.map((r) => r.alias) } } })).toBe(0);
    expect(published).toEqual([]);
  });
});

describe("routes.list", () => {
  it("shows members the instance-wide routes and the organisation's own, config-file ones read-only", async () => {
    const list = await (await as("mia")).routes.list({ orgId: ids.acme });
    expect(list.canEdit).toBe(false);
    expect(list.routes.map((r) => r.alias)).toEqual(["acme-by-tier", "acme-chat", "default-chat"]);
    expect(list.routes.every((r) => !r.editable)).toBe(true);
    expect(list.models).toEqual(["acme-llama", "claude-haiku", "embed-small", "gpt-4o-mini"]);
    const chat = list.routes.find((r) => r.alias === "acme-chat");
    expect(chat).toMatchObject({ instanceWide: false, source: "DASHBOARD", strategy: "weighted", invalid: false });
    expect(chat?.options.maxTokens).toEqual({ default: 512, cap: 4096 });
  });

  it("marks only the organisation's dashboard routes editable for its admins", async () => {
    const list = await (await as("olivia")).routes.list({ orgId: ids.acme });
    expect(list.canEdit).toBe(true);
    const editable = Object.fromEntries(list.routes.map((r) => [r.alias, r.editable]));
    expect(editable).toEqual({ "acme-by-tier": true, "acme-chat": true, "default-chat": false });
    expect(list.routes.find((r) => r.alias === "default-chat")).toMatchObject({ instanceWide: true, source: "CONFIG_FILE" });
  });

  it("hides one organisation's routes from another", async () => {
    const list = await (await as("otto")).routes.list({ orgId: ids.other });
    expect(list.routes.map((r) => r.alias)).toEqual(["default-chat"]);
    expect(list.models).toEqual(["claude-haiku", "embed-small", "gpt-4o-mini", "other-private"]);
    await expectTrpcError((await as("otto")).routes.list({ orgId: ids.acme }), "NOT_FOUND");
  });

  it("flags stored parts the proxy would ignore", async () => {
    await prisma.route.create({
      data: { alias: "acme-broken", orgId: ids.acme, strategy: "fastest", targets: [{ model: "gpt-4o-mini" }, { nope: 1 }], options: { bogus: true } },
    });
    const list = await (await as("olivia")).routes.list({ orgId: ids.acme });
    const broken = list.routes.find((r) => r.alias === "acme-broken");
    expect(broken).toMatchObject({ invalid: true, targets: [{ model: "gpt-4o-mini" }], options: {} });
    await prisma.route.delete({ where: { alias: "acme-broken" } });
  });
});

describe("routes.update and routes.delete", () => {
  async function routeId(alias: string) {
    return (await prisma.route.findUniqueOrThrow({ where: { alias } })).id;
  }

  it("lets an org admin change a route, alias included", async () => {
    const id = await routeId("acme-chat");
    await (await as("olivia")).routes.update({
      orgId: ids.acme,
      routeId: id,
      route: { alias: "acme-chat-2", strategy: "fallback", targets: [{ model: "acme-llama" }, { model: "claude-haiku" }], strict: true },
    });
    const stored = await prisma.route.findUniqueOrThrow({ where: { id } });
    expect(stored).toMatchObject({ alias: "acme-chat-2", strategy: "fallback", strict: true, options: {} });
    expect(stored.targets).toEqual([{ model: "acme-llama" }, { model: "claude-haiku" }]);
    expect(published).toEqual(["routes"]);
    // Saving again under its own alias is no clash.
    await (await as("olivia")).routes.update({
      orgId: ids.acme,
      routeId: id,
      route: { alias: "acme-chat-2", strategy: "fallback", targets: [{ model: "acme-llama" }] },
    });
  });

  it("refuses an alias another route has", async () => {
    await expectTrpcError(
      (await as("olivia")).routes.update({
        orgId: ids.acme,
        routeId: await routeId("acme-chat-2"),
        route: { alias: "acme-by-tier", strategy: "fallback", targets: [{ model: "acme-llama" }] },
      }),
      "CONFLICT",
    );
  });

  it("keeps config-file routes read-only", async () => {
    const olivia = await as("olivia");
    const err = await expectTrpcError(
      olivia.routes.update({ orgId: ids.acme, routeId: ids.fileRoute, route: { alias: "default-chat", strategy: "fallback", targets: [{ model: "acme-llama" }] } }),
      "FORBIDDEN",
    );
    expect(err.message).toContain("switchyard.yaml");
    await expectTrpcError(olivia.routes.delete({ orgId: ids.acme, routeId: ids.fileRoute }), "FORBIDDEN");
    expect(await prisma.route.findUnique({ where: { id: ids.fileRoute } })).not.toBeNull();
  });

  it("refuses members, viewers and other organisations", async () => {
    const id = await routeId("acme-chat-2");
    const route = { alias: "hijack", strategy: "fallback" as const, targets: [{ model: "gpt-4o-mini" }] };
    for (const h of ["mia", "vera"] as const) {
      await expectTrpcError((await as(h)).routes.update({ orgId: ids.acme, routeId: id, route }), "FORBIDDEN");
      await expectTrpcError((await as(h)).routes.delete({ orgId: ids.acme, routeId: id }), "FORBIDDEN");
    }
    // Otto names his own organisation, where he is admin: Acme's route does not exist there.
    await expectTrpcError((await as("otto")).routes.update({ orgId: ids.other, routeId: id, route }), "NOT_FOUND");
    await expectTrpcError((await as("otto")).routes.delete({ orgId: ids.other, routeId: id }), "NOT_FOUND");
    expect((await prisma.route.findUniqueOrThrow({ where: { id } })).alias).toBe("acme-chat-2");
    expect(published).toEqual([]);
  });

  it("keeps a custom model a route uses from being deleted", async () => {
    const llama = await prisma.model.findUniqueOrThrow({ where: { name: "acme-llama" } });
    const err = await expectTrpcError((await as("olivia")).prices.deleteModel({ orgId: ids.acme, modelId: llama.id }), "PRECONDITION_FAILED");
    expect(err.message).toBe("The route acme-chat-2 uses 'acme-llama'; change it first.");
    expect(await prisma.model.findUnique({ where: { id: llama.id } })).not.toBeNull();
    // Used only as a semantic-cache embedding model counts too.
    const embed = await prisma.model.create({ data: { name: "acme-embed", providerId: llama.providerId, upstreamModel: "e5", orgId: ids.acme } });
    await (await as("olivia")).routes.create({
      orgId: ids.acme,
      route: {
        alias: "acme-cached",
        strategy: "fallback",
        targets: [{ model: "gpt-4o-mini" }],
        options: { cache: { ttlSeconds: 60, scope: "org", semantic: { embeddingModel: "acme-embed", threshold: 0.9, maxTemperature: 0.3 } } },
      },
    });
    await expectTrpcError((await as("olivia")).prices.deleteModel({ orgId: ids.acme, modelId: embed.id }), "PRECONDITION_FAILED");
    await (await as("olivia")).routes.delete({ orgId: ids.acme, routeId: await routeId("acme-cached") });
    await (await as("olivia")).prices.deleteModel({ orgId: ids.acme, modelId: embed.id });
    expect(await prisma.model.findUnique({ where: { id: embed.id } })).toBeNull();
    published.length = 0;
  });

  it("lets an org admin delete a route", async () => {
    const id = await routeId("acme-chat-2");
    await (await as("olivia")).routes.delete({ orgId: ids.acme, routeId: id });
    expect(await prisma.route.findUnique({ where: { id } })).toBeNull();
    expect(published).toEqual(["routes"]);
    await expectTrpcError((await as("olivia")).routes.delete({ orgId: ids.acme, routeId: id }), "NOT_FOUND");
  });
});
