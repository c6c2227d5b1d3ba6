import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient, type Role } from "@switchyard/db";
import { prepareTestDatabase, truncateAll } from "@switchyard/db/testing";
import { capabilitiesAt, priceAt } from "@switchyard/pricing";
import { callerFor, createMember, expectTrpcError, recordingServices } from "../../../../test/fixtures";
import type { SessionUser } from "../../trpc";

const REDIS_URL = process.env.SWITCHYARD_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/4";

type Handle = "olivia" | "mia" | "vera" | "otto";
const users = {} as Record<Handle, SessionUser>;
const ids = { acme: "", other: "", fileModel: "", acmeModel: "", otherModel: "", sharedDashboardModel: "" };
let prisma: PrismaClient;
const published: string[] = [];
const services = recordingServices(REDIS_URL, published, 10);

async function as(handle: Handle) {
  return callerFor(prisma, users[handle], services);
}

const NO_OVERRIDES = { contextWindow: null, maxOutputTokens: null, tools: null, vision: null, jsonMode: null, streaming: null };

beforeAll(async () => {
  prisma = createPrismaClient(await prepareTestDatabase("switchyard_test_dashboard_models"));
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
    users[handle] = (await createMember(prisma, { email: `${handle}@models.test`, orgId, role, teamId })).user;

  const provider = await prisma.providerCredential.create({ data: { slug: "openai-main", type: "openai" } });
  const file = await prisma.model.create({
    data: {
      name: "gpt-4o-mini",
      providerId: provider.id,
      upstreamModel: "gpt-4o-mini",
      source: "CONFIG_FILE",
      capabilities: { contextWindow: 64_000 },
    },
  });
  const acmeModel = await prisma.model.create({
    data: {
      name: "acme-llama",
      providerId: provider.id,
      upstreamModel: "llama3-acme-build",
      orgId: acme.id,
      pricing: { inputPerMTok: "0.50", outputPerMTok: "0.70" },
    },
  });
  const otherModel = await prisma.model.create({
    data: { name: "other-private", providerId: provider.id, upstreamModel: "mystery", orgId: other.id },
  });
  const shared = await prisma.model.create({
    data: { name: "shared-dash", providerId: provider.id, upstreamModel: "shared-upstream" },
  });
  Object.assign(ids, { fileModel: file.id, acmeModel: acmeModel.id, otherModel: otherModel.id, sharedDashboardModel: shared.id });
  // Acme pays its own price for gpt-4o-mini.
  await prisma.priceOverride.create({
    data: { orgId: acme.id, upstreamModel: "gpt-4o-mini", pricing: { inputPerMTok: "0.10", outputPerMTok: "0.40" } },
  });
});

beforeEach(() => {
  published.length = 0;
});

afterAll(async () => {
  await prisma?.$disconnect();
});

describe("models.list", () => {
  it("shows a member every model the organisation can call, with capabilities and its price", async () => {
    const list = await (await as("mia")).models.list({ orgId: ids.acme });
    expect(list.canEdit).toBe(false);
    expect(list.models.map((m) => m.name)).toEqual(["acme-llama", "gpt-4o-mini", "shared-dash"]);
    const mini = list.models.find((m) => m.name === "gpt-4o-mini");
    expect(mini).toMatchObject({
      provider: "openai-main",
      upstreamModel: "gpt-4o-mini",
      custom: false,
      source: "CONFIG_FILE",
      editable: false,
      readOnlyReason: "config-file",
      registry: capabilitiesAt("gpt-4o-mini"),
      overrides: { contextWindow: 64_000 },
      price: { inputPerMTok: "0.10", outputPerMTok: "0.40", source: "override" },
    });
    // The configured value wins over the registry's.
    expect(mini?.effective.contextWindow).toBe(64_000);
    const llama = list.models.find((m) => m.name === "acme-llama");
    expect(llama).toMatchObject({
      custom: true,
      readOnlyReason: "role",
      registry: null,
      overrides: {},
      effective: {},
      price: { inputPerMTok: "0.50", outputPerMTok: "0.70", source: "configured" },
    });
    expect(list.models.find((m) => m.name === "shared-dash")).toMatchObject({ readOnlyReason: "instance-wide", price: null });
  });

  it("shows each organisation its own price: without an override the registry's", async () => {
    const list = await (await as("otto")).models.list({ orgId: ids.other });
    expect(list.models.map((m) => m.name)).toEqual(["gpt-4o-mini", "other-private", "shared-dash"]);
    const registry = priceAt("gpt-4o-mini");
    expect(registry).not.toBeNull();
    expect(list.models.find((m) => m.name === "gpt-4o-mini")?.price).toEqual({
      inputPerMTok: registry?.inputPerMTok,
      outputPerMTok: registry?.outputPerMTok,
      source: "registry",
    });
    expect(list.models.find((m) => m.name === "other-private")).toMatchObject({ editable: true, readOnlyReason: null, price: null });
  });

  it("lets an org admin edit only the organisation's own dashboard models", async () => {
    const list = await (await as("olivia")).models.list({ orgId: ids.acme });
    expect(list.canEdit).toBe(true);
    expect(Object.fromEntries(list.models.map((m) => [m.name, m.editable]))).toEqual({
      "acme-llama": true,
      "gpt-4o-mini": false,
      "shared-dash": false,
    });
  });

  it("is not there for outsiders", async () => {
    await expectTrpcError((await as("otto")).models.list({ orgId: ids.acme }), "NOT_FOUND");
  });
});

describe("models.setCapabilities", () => {
  it("stores an org admin's overrides on a custom model, and null fields fall back to the registry", async () => {
    const olivia = await as("olivia");
    const saved = await olivia.models.setCapabilities({
      orgId: ids.acme,
      modelId: ids.acmeModel,
      capabilities: { ...NO_OVERRIDES, contextWindow: 8192, tools: false, streaming: true },
    });
    expect(saved.capabilities).toEqual({ contextWindow: 8192, tools: false, streaming: true });
    expect((await prisma.model.findUniqueOrThrow({ where: { id: ids.acmeModel } })).capabilities).toEqual({
      contextWindow: 8192,
      tools: false,
      streaming: true,
    });
    expect(published).toEqual(["models"]);
    const row = (await olivia.models.list({ orgId: ids.acme })).models.find((m) => m.name === "acme-llama");
    expect(row?.effective).toEqual({ contextWindow: 8192, tools: false, streaming: true });

    await olivia.models.setCapabilities({ orgId: ids.acme, modelId: ids.acmeModel, capabilities: { ...NO_OVERRIDES, vision: true } });
    expect((await prisma.model.findUniqueOrThrow({ where: { id: ids.acmeModel } })).capabilities).toEqual({ vision: true });
  });

  it("refuses config-file and instance-wide models", async () => {
    const olivia = await as("olivia");
    const err = await expectTrpcError(
      olivia.models.setCapabilities({ orgId: ids.acme, modelId: ids.fileModel, capabilities: { ...NO_OVERRIDES, tools: true } }),
      "FORBIDDEN",
    );
    expect(err.message).toContain("switchyard.yaml");
    await expectTrpcError(
      olivia.models.setCapabilities({ orgId: ids.acme, modelId: ids.sharedDashboardModel, capabilities: { ...NO_OVERRIDES, tools: true } }),
      "FORBIDDEN",
    );
    expect((await prisma.model.findUniqueOrThrow({ where: { id: ids.fileModel } })).capabilities).toEqual({ contextWindow: 64_000 });
    expect(published).toEqual([]);
  });

  it("refuses members, viewers, other organisations and nonsense values", async () => {
    for (const h of ["mia", "vera"] as const)
      await expectTrpcError(
        (await as(h)).models.setCapabilities({ orgId: ids.acme, modelId: ids.acmeModel, capabilities: { ...NO_OVERRIDES, tools: true } }),
        "FORBIDDEN",
      );
    await expectTrpcError(
      (await as("otto")).models.setCapabilities({ orgId: ids.other, modelId: ids.acmeModel, capabilities: { ...NO_OVERRIDES, tools: true } }),
      "NOT_FOUND",
    );
    await expectTrpcError(
      (await as("olivia")).models.setCapabilities({ orgId: ids.acme, modelId: ids.acmeModel, capabilities: { ...NO_OVERRIDES, contextWindow: -5 } }),
      "BAD_REQUEST",
    );
    expect((await prisma.model.findUniqueOrThrow({ where: { id: ids.acmeModel } })).capabilities).toEqual({ vision: true });
  });
});
