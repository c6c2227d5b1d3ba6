import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient, type Role } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import {
  callerFor,
  createKey,
  createMember,
  expectTrpcError,
  recordingServices,
} from "../../../../test/fixtures";
import type { SessionUser } from "../../trpc";

const REDIS_URL = "redis://127.0.0.1:6379/4";
const DAY = 24 * 3600 * 1000;

type Handle = "olivia" | "mia" | "vera" | "otto";
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", other: "" };
let prisma: PrismaClient;
const published: string[] = [];
const services = recordingServices(REDIS_URL, published, 8);

async function as(handle: Handle) {
  return callerFor(prisma, users[handle], services);
}

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_prices"));
  await truncateAll(prisma);
  const acme = await prisma.organization.create({ data: { slug: "acme", name: "Acme" } });
  const other = await prisma.organization.create({ data: { slug: "other", name: "Other" } });
  const alpha = await prisma.team.create({
    data: { orgId: acme.id, slug: "alpha", name: "Alpha" },
  });
  const gamma = await prisma.team.create({
    data: { orgId: other.id, slug: "gamma", name: "Gamma" },
  });
  Object.assign(ids, { acme: acme.id, other: other.id });
  const people: [Handle, Role, string | null, string][] = [
    ["olivia", "ORG_ADMIN", null, acme.id],
    ["mia", "MEMBER", alpha.id, acme.id],
    ["vera", "VIEWER", null, acme.id],
    ["otto", "ORG_ADMIN", null, other.id],
  ];
  for (const [handle, role, teamId, orgId] of people)
    users[handle] = (
      await createMember(prisma, { email: `${handle}@prices.test`, orgId, role, teamId })
    ).user;

  const provider = await prisma.providerCredential.create({
    data: { slug: "local", type: "openai-compatible" },
  });
  await prisma.model.createMany({
    data: [
      { name: "gpt-4o-mini", providerId: provider.id, upstreamModel: "gpt-4o-mini" },
      { name: "local-llama", providerId: provider.id, upstreamModel: "llama3", orgId: acme.id },
      {
        name: "priced-llama",
        providerId: provider.id,
        upstreamModel: "llama3-70b",
        orgId: acme.id,
        pricing: { inputPerMTok: "0.50", outputPerMTok: "0.70" },
      },
      { name: "other-private", providerId: provider.id, upstreamModel: "mystery", orgId: other.id },
    ],
  });
  const aKey = await createKey(prisma, alpha, "alpha-app");
  const cKey = await createKey(prisma, gamma, "gamma-app");
  const now = Date.now();
  const rollup = (
    key: { id: string; teamId: string; orgId: string },
    model: string,
    daysAgo: number,
    unpriced: number,
  ) => ({
    bucket: new Date(Math.floor((now - daysAgo * DAY) / 3_600_000) * 3_600_000),
    orgId: key.orgId,
    teamId: key.teamId,
    virtualKeyId: key.id,
    model,
    provider: "local",
    requests: unpriced + 1,
    unpricedRequests: unpriced,
  });
  await prisma.usageRollup.createMany({
    data: [
      rollup(aKey, "local-llama", 2, 4),
      rollup(aKey, "local-llama", 3, 3),
      rollup(aKey, "local-llama", 40, 100), // older than 30 days: not counted
      rollup(aKey, "passthrough-x", 1, 2),
      rollup(aKey, "gpt-4o-mini", 1, 0),
      rollup(cKey, "other-private", 1, 5),
    ],
  });
});

afterAll(async () => {
  await prisma?.$disconnect();
});

describe("prices.list", () => {
  it("shows members the registry, and the org's unpriced models with 30-day unpriced request counts", async () => {
    const list = await (await as("mia")).prices.list({ orgId: ids.acme });
    expect(list.canEdit).toBe(false);
    const mini = list.registry.find((r) => r.model === "gpt-4o-mini" && r.current);
    expect(mini).toMatchObject({
      provider: "openai",
      inputPerMTok: "0.15",
      outputPerMTok: "0.60",
      cachedInputPerMTok: "0.075",
      reasoningPerMTok: null,
    });
    expect(mini?.source).toMatch(/^https:\/\//);
    expect(mini?.effectiveFrom).toMatch(/^\d{4}-\d{2}-\d{2}/);
    expect(list.unpriced).toEqual([
      { model: "local-llama", upstreamModel: "llama3", provider: "local", unpricedRequests30d: 7 },
      { model: "passthrough-x", upstreamModel: null, provider: "local", unpricedRequests30d: 2 },
    ]);
    expect(list.overrides).toEqual([]);
  });

  it("is NOT_FOUND to another organisation's admin", async () => {
    await expectTrpcError((await as("otto")).prices.list({ orgId: ids.acme }), "NOT_FOUND");
  });
});

describe("price overrides", () => {
  it("lets an org admin price a model, which leaves the unpriced list, and tells the proxies", async () => {
    const before = published.length;
    const created = await (
      await as("olivia")
    ).prices.setOverride({
      orgId: ids.acme,
      upstreamModel: "llama3",
      pricing: { inputPerMTok: "0.20", outputPerMTok: "0.40", cachedInputPerMTok: "0.05" },
      note: "our GPU cost",
    });
    expect(created).toMatchObject({ upstreamModel: "llama3", created: true });
    expect(published.slice(before)).toEqual(["prices"]);
    const list = await (await as("olivia")).prices.list({ orgId: ids.acme });
    expect(list.canEdit).toBe(true);
    expect(list.overrides).toEqual([
      expect.objectContaining({
        upstreamModel: "llama3",
        inputPerMTok: "0.20",
        outputPerMTok: "0.40",
        cachedInputPerMTok: "0.05",
        cacheWritePerMTok: null,
        note: "our GPU cost",
      }),
    ]);
    expect(list.unpriced.map((u) => u.model)).toEqual(["passthrough-x"]);
  });

  it("replaces the price when set again for the same upstream model", async () => {
    const again = await (
      await as("olivia")
    ).prices.setOverride({
      orgId: ids.acme,
      upstreamModel: "llama3",
      pricing: { inputPerMTok: "0.25", outputPerMTok: "0.45" },
    });
    expect(again.created).toBe(false);
    const rows = await prisma.priceOverride.findMany({ where: { orgId: ids.acme } });
    expect(rows).toHaveLength(1);
    expect(rows[0]?.pricing).toEqual({ inputPerMTok: "0.25", outputPerMTok: "0.45" });
    expect(rows[0]?.note).toBeNull();
  });

  it("validates the pricing with the ModelPricing schema", async () => {
    const olivia = await as("olivia");
    const bad = [
      { inputPerMTok: "-1", outputPerMTok: "1" },
      { inputPerMTok: "abc", outputPerMTok: "1" },
      { inputPerMTok: "1" },
      { inputPerMTok: "1", outputPerMTok: "1", freeLunch: "0" },
    ];
    for (const pricing of bad)
      await expectTrpcError(
        olivia.prices.setOverride({
          orgId: ids.acme,
          upstreamModel: "x-model",
          pricing: pricing as { inputPerMTok: string; outputPerMTok: string },
        }),
        "BAD_REQUEST",
      );
    await expectTrpcError(
      olivia.prices.setOverride({
        orgId: ids.acme,
        upstreamModel: "has space",
        pricing: { inputPerMTok: "1", outputPerMTok: "1" },
      }),
      "BAD_REQUEST",
    );
    expect(await prisma.priceOverride.count({ where: { upstreamModel: "x-model" } })).toBe(0);
  });

  it("refuses members, viewers and other organisations' admins", async () => {
    const before = published.length;
    const input = {
      orgId: ids.acme,
      upstreamModel: "llama3",
      pricing: { inputPerMTok: "9", outputPerMTok: "9" },
    };
    await expectTrpcError((await as("mia")).prices.setOverride(input), "FORBIDDEN");
    await expectTrpcError((await as("vera")).prices.setOverride(input), "FORBIDDEN");
    await expectTrpcError((await as("otto")).prices.setOverride(input), "NOT_FOUND");
    const override = await prisma.priceOverride.findFirstOrThrow({ where: { orgId: ids.acme } });
    await expectTrpcError(
      (await as("vera")).prices.deleteOverride({ orgId: ids.acme, overrideId: override.id }),
      "FORBIDDEN",
    );
    // Naming their own organisation does not let otto reach Acme's override.
    await expectTrpcError(
      (await as("otto")).prices.deleteOverride({ orgId: ids.other, overrideId: override.id }),
      "NOT_FOUND",
    );
    expect(
      (await prisma.priceOverride.findUniqueOrThrow({ where: { id: override.id } })).pricing,
    ).toEqual({
      inputPerMTok: "0.25",
      outputPerMTok: "0.45",
    });
    expect(published.length).toBe(before);
  });

  it("lets an org admin delete an override; the model is unpriced again", async () => {
    const override = await prisma.priceOverride.findFirstOrThrow({ where: { orgId: ids.acme } });
    const before = published.length;
    await (await as("olivia")).prices.deleteOverride({ orgId: ids.acme, overrideId: override.id });
    expect(published.slice(before)).toEqual(["prices"]);
    expect(await prisma.priceOverride.count()).toBe(0);
    const list = await (await as("mia")).prices.list({ orgId: ids.acme });
    expect(list.unpriced.map((u) => [u.model, u.unpricedRequests30d])).toEqual([
      ["local-llama", 7],
      ["passthrough-x", 2],
    ]);
    await expectTrpcError(
      (await as("olivia")).prices.deleteOverride({ orgId: ids.acme, overrideId: override.id }),
      "NOT_FOUND",
    );
  });
});

describe("custom models", () => {
  it("lets an org admin add a priced custom model on a provider it may use, and tells the proxies", async () => {
    const local = await prisma.providerCredential.findUniqueOrThrow({ where: { slug: "local" } });
    const before = published.length;
    const created = await (await as("olivia")).prices.createModel({
      orgId: ids.acme,
      name: "acme-fast",
      providerId: local.id,
      upstreamModel: "fast-1",
      pricing: { inputPerMTok: "1", outputPerMTok: "2" },
    });
    expect(created.name).toBe("acme-fast");
    expect(published.slice(before)).toEqual(["models"]);
    expect(await prisma.model.findUniqueOrThrow({ where: { name: "acme-fast" } })).toMatchObject({
      orgId: ids.acme,
      upstreamModel: "fast-1",
      source: "DASHBOARD",
    });
    const list = await (await as("mia")).prices.list({ orgId: ids.acme });
    expect(list.providers.map((p) => p.slug)).toContain("local");
    expect(list.customModels.map((m) => [m.name, m.rates?.inputPerMTok ?? "unpriced"])).toEqual([
      ["acme-fast", "1"],
      ["local-llama", "unpriced"],
      ["priced-llama", "0.50"],
    ]);
    // Another organisation never sees it.
    const theirs = await (await as("otto")).prices.list({ orgId: ids.other });
    expect(theirs.customModels.map((m) => m.name)).toEqual(["other-private"]);
  });

  it("refuses a taken name, another organisation's provider, members and viewers; deletes only the org's own", async () => {
    const local = await prisma.providerCredential.findUniqueOrThrow({ where: { slug: "local" } });
    const theirProvider = await prisma.providerCredential.create({
      data: { slug: "other-vllm", type: "openai-compatible", orgId: ids.other },
    });
    const input = { orgId: ids.acme, name: "other-private", providerId: local.id, upstreamModel: "x" };
    const before = published.length;
    await expectTrpcError((await as("olivia")).prices.createModel(input), "CONFLICT");
    await expectTrpcError(
      (await as("olivia")).prices.createModel({ ...input, name: "sneaky", providerId: theirProvider.id }),
      "NOT_FOUND",
    );
    await expectTrpcError((await as("olivia")).prices.createModel({ ...input, name: "has space" }), "BAD_REQUEST");
    await expectTrpcError((await as("mia")).prices.createModel({ ...input, name: "mine" }), "FORBIDDEN");
    await expectTrpcError((await as("vera")).prices.createModel({ ...input, name: "mine" }), "FORBIDDEN");
    const fast = await prisma.model.findUniqueOrThrow({ where: { name: "acme-fast" } });
    await expectTrpcError(
      (await as("otto")).prices.deleteModel({ orgId: ids.other, modelId: fast.id }),
      "NOT_FOUND",
    );
    expect(published.length).toBe(before);
    await (await as("olivia")).prices.deleteModel({ orgId: ids.acme, modelId: fast.id });
    expect(published.slice(before)).toEqual(["models"]);
    expect(await prisma.model.findUnique({ where: { name: "acme-fast" } })).toBeNull();
  });
});
