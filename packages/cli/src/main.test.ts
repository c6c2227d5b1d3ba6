import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { verifyPassword } from "better-auth/crypto";
import { CONFIG_CHANGED_CHANNEL } from "@switchyard/contracts";
import {
  ConfigSource,
  createPrismaClient,
  decodeEncryptionKey,
  decryptSecret,
  hashVirtualKey,
  type PrismaClient,
} from "@switchyard/db";
import { prepareTestDatabase } from "@switchyard/db/testing";

const cliRoot = path.resolve(import.meta.dirname, "..");
const REDIS_URL = "redis://127.0.0.1:6379/3";
const ENC_KEY = "c".repeat(64);
let databaseUrl: string;
let prisma: PrismaClient;
let sub: Redis;
const notices: string[] = [];
const tmp = mkdtempSync(path.join(tmpdir(), "switchyard-cli-"));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed; the test fails unless it is exactly one JSON document. */
  json: Record<string, unknown> & { error?: { message: string } };
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/main.ts", ...args, "--json"],
      {
        cwd: cliRoot,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: databaseUrl,
          REDIS_URL,
          SWITCHYARD_ENCRYPTION_KEY: ENC_KEY,
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        let json: Run["json"];
        try {
          json = JSON.parse(stdout) as Run["json"];
        } catch {
          throw new Error(`stdout is not one JSON document: ${stdout}\nstderr: ${stderr}`);
        }
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}

async function ok(args: string[], env?: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await run(args, env);
  expect(r.json.error, r.stderr).toBeUndefined();
  expect(r.code).toBe(0);
  return r.json;
}

function writeConfig(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

async function noticeAfter(count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (notices.length <= count && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  expect(notices.length).toBeGreaterThan(count);
}

beforeAll(async () => {
  databaseUrl = await prepareTestDatabase("switchyard_test_cli");
  prisma = createPrismaClient(databaseUrl);
  // Start from an empty schema so `migrate` has something to apply.
  await prisma.$executeRawUnsafe(`DROP SCHEMA public CASCADE`);
  await prisma.$executeRawUnsafe(`CREATE SCHEMA public`);
  sub = new Redis(REDIS_URL);
  await sub.subscribe(CONFIG_CHANGED_CHANNEL);
  sub.on("message", (_ch, msg: string) => notices.push(msg));
}, 120_000);
afterAll(async () => {
  await sub.quit();
  await prisma.$disconnect();
});

describe("switchyard CLI", () => {
  it("migrate applies the committed migrations, then has nothing to do", async () => {
    const first = await ok(["migrate"]);
    expect(first.applied).toContain("20261126000000_init");
    const second = await ok(["migrate"]);
    expect(second).toEqual({ applied: [], total: first.total });
    expect(await prisma.organization.count()).toBe(0);
  }, 60_000);

  it("creates orgs and teams, and explains mistakes with exit code 1", async () => {
    expect(await ok(["orgs", "create", "acme", "--name", "Acme Inc"])).toMatchObject({
      org: { slug: "acme", name: "Acme Inc" },
    });
    const dup = await run(["orgs", "create", "acme"]);
    expect(dup.code).toBe(1);
    expect(dup.json).toEqual({ error: { message: 'organization "acme" already exists' } });
    expect(await ok(["teams", "create", "ml", "--org", "acme"])).toMatchObject({
      team: { slug: "ml", org: "acme" },
    });
    const noOrg = await run(["teams", "create", "x"]);
    expect(noOrg.code).toBe(1);
    expect(noOrg.json.error?.message).toMatch(/--org is required/);
    const unknown = await run(["teams", "create", "x", "--org", "nope"]);
    expect(unknown.json.error?.message).toMatch(/organization "nope" not found/);
    const badCmd = await run(["frobnicate"]);
    expect(badCmd.code).toBe(1);
    expect(badCmd.json.error?.message).toMatch(/unknown command/);
    const badFlag = await run(["orgs", "create", "y", "--wat"]);
    expect(badFlag.code).toBe(1);
    expect(badFlag.json.error?.message).toMatch(/--wat/);
    const team = await prisma.team.findFirstOrThrow({
      where: { slug: "ml" },
      include: { org: true },
    });
    expect(team.org.slug).toBe("acme");
  }, 60_000);

  it("users create stores a better-auth credential the dashboard can verify", async () => {
    const owner = await ok([
      "users",
      "create",
      "Boss@Acme.test",
      "--org",
      "acme",
      "--role",
      "org_owner",
      "--password",
      "correct horse battery",
    ]);
    expect(owner).toMatchObject({
      user: { email: "boss@acme.test" },
      membership: { org: "acme", team: null, role: "org_owner" },
      password: null,
    });
    const member = await ok(["users", "create", "dev@acme.test", "--org", "acme", "--team", "ml"]);
    const generated = member.password as string;
    expect(generated.length).toBeGreaterThanOrEqual(16);

    const boss = await prisma.user.findUniqueOrThrow({
      where: { email: "boss@acme.test" },
      include: { accounts: true, memberships: true },
    });
    expect(boss.accounts).toHaveLength(1);
    const account = boss.accounts[0]!;
    expect(account).toMatchObject({ providerId: "credential", accountId: boss.id });
    expect(
      await verifyPassword({ hash: account.password!, password: "correct horse battery" }),
    ).toBe(true);
    expect(await verifyPassword({ hash: account.password!, password: "wrong" })).toBe(false);
    expect(boss.memberships).toMatchObject([{ role: "ORG_OWNER", teamId: null }]);

    const dev = await prisma.user.findUniqueOrThrow({
      where: { email: "dev@acme.test" },
      include: { accounts: true, memberships: { include: { team: true } } },
    });
    expect(await verifyPassword({ hash: dev.accounts[0]!.password!, password: generated })).toBe(
      true,
    );
    expect(dev.memberships[0]).toMatchObject({ role: "MEMBER", team: { slug: "ml" } });

    const again = await run(["users", "create", "dev@acme.test", "--org", "acme"]);
    expect(again.code).toBe(1);
    expect(again.json.error?.message).toMatch(/already exists/);
    const badRole = await run(["users", "create", "x@acme.test", "--org", "acme", "--role", "god"]);
    expect(badRole.json.error?.message).toMatch(/invalid --role/);
  }, 60_000);

  it("keys create prints the key once; only its sha256 is stored", async () => {
    const before = notices.length;
    const out = await ok([
      "keys",
      "create",
      "--team",
      "ml",
      "--name",
      "ci",
      "--models",
      "gpt-4o-mini, claude-haiku",
      "--rpm",
      "60",
      "--tpm",
      "100000",
      "--budget-usd",
      "12.345678912",
      "--budget-period",
      "week",
      "--expires",
      "2030-01-31T00:00:00Z",
    ]);
    const key = out.key as string;
    expect(key).toMatch(/^sk-sy-/);
    expect(out).toMatchObject({
      prefix: key.slice(0, 12),
      name: "ci",
      org: "acme",
      team: "ml",
      models: ["gpt-4o-mini", "claude-haiku"],
      rpm: 60,
      tpm: 100000,
      budget: { amountNanoUsd: "12345678912", period: "week" },
      expiresAt: "2030-01-31T00:00:00.000Z",
      published: true,
    });
    await noticeAfter(before);

    const row = await prisma.virtualKey.findUniqueOrThrow({
      where: { id: out.id as string },
      include: { budgets: true },
    });
    expect(row.keyHash).toBe(hashVirtualKey(key));
    expect(row.allowedModels).toEqual(["gpt-4o-mini", "claude-haiku"]);
    expect(row.budgets).toMatchObject([
      { scope: "KEY", amountNanoUsd: 12345678912n, period: "WEEK" },
    ]);
    // The clear key is nowhere in the database.
    const tables = await prisma.$queryRaw<
      { tablename: string }[]
    >`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    for (const { tablename } of tables) {
      const [hit] = await prisma.$queryRawUnsafe<{ n: bigint }[]>(
        `SELECT count(*) AS n FROM "${tablename}" t WHERE row_to_json(t)::text LIKE '%' || $1 || '%'`,
        key.slice(12),
      );
      expect(hit?.n, tablename).toBe(0n);
    }

    const badBudget = await run(["keys", "create", "--team", "ml", "--budget-usd", "1.5e3"]);
    expect(badBudget.code).toBe(1);
    expect(badBudget.json.error?.message).toMatch(/--budget-usd/);
    const badExpiry = await run(["keys", "create", "--team", "ml", "--expires", "soon"]);
    expect(badExpiry.json.error?.message).toMatch(/--expires/);
  }, 60_000);

  it("keys revoke finds a key by prefix, by id or by the full key", async () => {
    const keys = [];
    for (let i = 0; i < 3; i++)
      keys.push(await ok(["keys", "create", "--team", "ml", "--name", `r${i}`]));
    const [a, b, c] = keys as { id: string; prefix: string; key: string }[];

    const byPrefix = await ok(["keys", "revoke", a!.prefix]);
    expect(byPrefix).toMatchObject({ id: a!.id, alreadyRevoked: false });
    const byId = await ok(["keys", "revoke", b!.id]);
    expect(byId).toMatchObject({ id: b!.id });
    const before = notices.length;
    const byKey = await ok(["keys", "revoke", c!.key]);
    expect(byKey).toMatchObject({ id: c!.id, published: true });
    await noticeAfter(before);
    const revoked = await prisma.virtualKey.findMany({
      where: { id: { in: [a!.id, b!.id, c!.id] } },
    });
    expect(revoked.every((k) => k.revokedAt !== null)).toBe(true);

    expect((await ok(["keys", "revoke", a!.id])).alreadyRevoked).toBe(true);
    const tooShort = await run(["keys", "revoke", "sk-sy-"]);
    expect(tooShort.code).toBe(1);
    expect(tooShort.json.error?.message).toMatch(/too short/);
    // Two active keys sharing a prefix (unlikely with random keys, so made by hand).
    const team = await prisma.team.findFirstOrThrow({ where: { slug: "ml" } });
    for (const n of [1, 2])
      await prisma.virtualKey.create({
        data: {
          orgId: team.orgId,
          teamId: team.id,
          name: `twin${n}`,
          keyHash: `twin-hash-${n}`,
          prefix: "sk-sy-TWINab",
        },
      });
    const ambiguous = await run(["keys", "revoke", "sk-sy-TWINab"]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.json.error?.message).toMatch(/several active keys/);
    expect(
      await prisma.virtualKey.count({ where: { prefix: "sk-sy-TWINab", revokedAt: null } }),
    ).toBe(2);
    const none = await run(["keys", "revoke", "sk-sy-doesnotexist-at-all"]);
    expect(none.json.error?.message).toMatch(/no key matches/);
  }, 60_000);

  it("config apply writes the file idempotently and leaves dashboard entries alone", async () => {
    // Made in the dashboard: must survive every apply.
    const dashProvider = await prisma.providerCredential.create({
      data: {
        slug: "dash-openai",
        type: "openai",
        source: ConfigSource.DASHBOARD,
        keys: { create: { label: "default", apiKeyRef: "env:X", source: ConfigSource.DASHBOARD } },
      },
    });
    await prisma.model.create({
      data: {
        name: "dash-model",
        providerId: dashProvider.id,
        upstreamModel: "gpt-4o",
        source: ConfigSource.DASHBOARD,
      },
    });
    await prisma.route.create({
      data: {
        alias: "dash-route",
        targets: [{ model: "dash-model" }],
        source: ConfigSource.DASHBOARD,
      },
    });

    const v1 = `
providers:
  - { id: openai-main, type: openai, baseUrl: "https://api.openai.com/v1", apiKey: "env:OPENAI_API_KEY" }
  - { id: local, type: openai-compatible, baseUrl: "http://127.0.0.1:8080/v1", apiKey: "local-secret-123" }
models:
  - name: gpt-4o-mini
    provider: openai-main
    pricing: { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075" }
    contextWindow: 128000
  - { name: llama, provider: local, upstreamModel: llama-3.1-8b }
routes:
  - alias: default-chat
    strategy: fallback
    targets: [ { model: gpt-4o-mini }, { model: llama } ]
`;
    const file = writeConfig("v1.yaml", v1);
    const before = notices.length;
    const first = await ok(["config", "apply", file]);
    expect(first).toMatchObject({
      providers: { created: 2, updated: 0, deleted: 0, unchanged: 0 },
      providerKeys: { created: 2, updated: 0, deleted: 0, unchanged: 0 },
      models: { created: 2, updated: 0, deleted: 0, unchanged: 0 },
      routes: { created: 1, updated: 0, deleted: 0, unchanged: 0 },
      published: true,
    });
    await noticeAfter(before);
    const second = await ok(["config", "apply", file]);
    expect(second).toMatchObject({
      providers: { created: 0, updated: 0, deleted: 0, unchanged: 2 },
      providerKeys: { created: 0, updated: 0, deleted: 0, unchanged: 2 },
      models: { created: 0, updated: 0, deleted: 0, unchanged: 2 },
      routes: { created: 0, updated: 0, deleted: 0, unchanged: 1 },
    });

    const local = await prisma.providerCredential.findUniqueOrThrow({
      where: { slug: "local" },
      include: { keys: true },
    });
    expect(local.source).toBe("CONFIG_FILE");
    expect(local.keys).toHaveLength(1);
    const localKey = local.keys[0]!;
    expect(localKey).toMatchObject({ label: "default", source: "CONFIG_FILE", last4: "-123", apiKeyRef: null });
    expect(localKey.apiKeyEncrypted).not.toContain("local-secret");
    expect(decryptSecret(localKey.apiKeyEncrypted!, decodeEncryptionKey(ENC_KEY))).toBe(
      "local-secret-123",
    );
    expect(
      (
        await prisma.providerCredential.findUniqueOrThrow({
          where: { slug: "openai-main" },
          include: { keys: true },
        })
      ).keys.map((k) => [k.label, k.apiKeyRef, k.apiKeyEncrypted, k.last4]),
    ).toEqual([["default", "env:OPENAI_API_KEY", null, null]]);
    const mini = await prisma.model.findUniqueOrThrow({ where: { name: "gpt-4o-mini" } });
    expect(mini).toMatchObject({
      upstreamModel: "gpt-4o-mini",
      pricing: { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075" },
      capabilities: { contextWindow: 128000 },
    });
    expect((await prisma.model.findUniqueOrThrow({ where: { name: "llama" } })).pricing).toBeNull();

    // v2: a price changes, llama and the local provider go away, the route changes.
    const v2 = `
providers:
  - { id: openai-main, type: openai, baseUrl: "https://api.openai.com/v1", apiKey: "env:OPENAI_API_KEY" }
models:
  - name: gpt-4o-mini
    provider: openai-main
    pricing: { inputPerMTok: "0.15", outputPerMTok: "0.65", cachedInputPerMTok: "0.075" }
    contextWindow: 128000
routes:
  - { alias: default-chat, strategy: fallback, targets: [ { model: gpt-4o-mini } ] }
`;
    const third = await ok(["config", "apply", writeConfig("v2.yaml", v2)]);
    expect(third).toMatchObject({
      providers: { created: 0, updated: 0, deleted: 1, unchanged: 1 },
      providerKeys: { created: 0, updated: 0, deleted: 0, unchanged: 1 },
      models: { created: 0, updated: 1, deleted: 1, unchanged: 0 },
      routes: { created: 0, updated: 1, deleted: 0, unchanged: 0 },
    });
    expect(await prisma.providerCredential.findUnique({ where: { slug: "local" } })).toBeNull();
    expect(await prisma.providerKey.count({ where: { providerId: local.id } })).toBe(0);
    expect(
      await prisma.providerCredential.findUnique({ where: { slug: "dash-openai" } }),
    ).not.toBeNull();
    expect(await prisma.model.findUnique({ where: { name: "dash-model" } })).not.toBeNull();
    expect(await prisma.route.findUnique({ where: { alias: "dash-route" } })).toMatchObject({
      source: "DASHBOARD",
      targets: [{ model: "dash-model" }],
    });

    // A clash with a dashboard entry is refused, and nothing is written.
    const clash = await run([
      "config",
      "apply",
      writeConfig(
        "clash.yaml",
        `${v2}  - { alias: dash-route, targets: [ { model: gpt-4o-mini } ] }\n`,
      ),
    ]);
    expect(clash.code).toBe(1);
    expect(clash.json.error?.message).toMatch(
      /route "dash-route" already exists and was created in the dashboard/,
    );
  }, 90_000);

  it("config apply keeps several keys per provider by label: idempotent, rotated, deleted, dashboard keys untouched", async () => {
    const keysFile = (keys: string) =>
      writeConfig(
        "keys.yaml",
        `providers:\n  - id: multi\n    type: openai\n    apiKeys:\n${keys}`,
      );
    const v1 = keysFile(
      [
        `      - { label: acct-a, apiKey: "env:ACCT_A_KEY" }`,
        `      - { label: acct-b, apiKey: "sk-acct-b-secret-1111" }`,
        `      - { label: acct-c, apiKey: "sk-acct-c-secret-2222" }`,
        "",
      ].join("\n"),
    );
    expect(await ok(["config", "apply", v1])).toMatchObject({
      providers: { created: 1 },
      providerKeys: { created: 3, updated: 0, deleted: 0, unchanged: 0 },
    });
    const provider = await prisma.providerCredential.findUniqueOrThrow({ where: { slug: "multi" } });
    // A key added in the dashboard beside the file's keys.
    await prisma.providerKey.create({
      data: { providerId: provider.id, label: "dash-extra", apiKeyRef: "env:DASH", source: ConfigSource.DASHBOARD },
    });
    const cipherB = (await prisma.providerKey.findUniqueOrThrow({
      where: { providerId_label: { providerId: provider.id, label: "acct-b" } },
    })).apiKeyEncrypted;

    // Re-applying the same file changes nothing, not even the ciphertexts.
    expect(await ok(["config", "apply", v1])).toMatchObject({
      providerKeys: { created: 0, updated: 0, deleted: 0, unchanged: 3 },
    });
    const keyB = await prisma.providerKey.findUniqueOrThrow({
      where: { providerId_label: { providerId: provider.id, label: "acct-b" } },
    });
    expect(keyB.apiKeyEncrypted).toBe(cipherB);
    expect(keyB.rotatedAt).toBeNull();

    // acct-b's secret changes, acct-c leaves the file, acct-d arrives.
    const v2 = keysFile(
      [
        `      - { label: acct-a, apiKey: "env:ACCT_A_KEY" }`,
        `      - { label: acct-b, apiKey: "sk-acct-b-secret-3333" }`,
        `      - { label: acct-d, apiKey: "env:ACCT_D_KEY" }`,
        "",
      ].join("\n"),
    );
    expect(await ok(["config", "apply", v2])).toMatchObject({
      providers: { unchanged: 1 },
      providerKeys: { created: 1, updated: 1, deleted: 1, unchanged: 1 },
    });
    const keys = await prisma.providerKey.findMany({ where: { providerId: provider.id }, orderBy: { label: "asc" } });
    expect(keys.map((k) => [k.label, k.source, k.last4])).toEqual([
      ["acct-a", "CONFIG_FILE", null],
      ["acct-b", "CONFIG_FILE", "3333"],
      ["acct-d", "CONFIG_FILE", null],
      ["dash-extra", "DASHBOARD", null],
    ]);
    const rotated = keys.find((k) => k.label === "acct-b")!;
    expect(decryptSecret(rotated.apiKeyEncrypted!, decodeEncryptionKey(ENC_KEY))).toBe("sk-acct-b-secret-3333");
    expect(rotated.rotatedAt).not.toBeNull();

    // Back to a single apiKey: it is the "default" key, the others leave.
    const v3 = writeConfig("keys3.yaml", `providers:\n  - { id: multi, type: openai, apiKey: "env:ONE_KEY" }\n`);
    expect(await ok(["config", "apply", v3])).toMatchObject({
      providerKeys: { created: 1, updated: 0, deleted: 3, unchanged: 0 },
    });
    expect(
      (await prisma.providerKey.findMany({ where: { providerId: provider.id }, orderBy: { label: "asc" } })).map((k) => k.label),
    ).toEqual(["dash-extra", "default"]);

    // A file key may not take over a dashboard key's label.
    const clash = await run([
      "config",
      "apply",
      keysFile(`      - { label: dash-extra, apiKey: "env:X" }\n`),
    ]);
    expect(clash.code).toBe(1);
    expect(clash.json.error?.message).toMatch(/provider key "multi\/dash-extra" already exists and was created in the dashboard/);

    // Both apiKey and apiKeys: refused with the field and line.
    const both = await run([
      "config",
      "apply",
      writeConfig(
        "both.yaml",
        `providers:\n  - id: multi\n    type: openai\n    apiKey: "env:K"\n    apiKeys:\n      - { label: a, apiKey: "env:A" }\n`,
      ),
    ]);
    expect(both.code).toBe(1);
    expect(both.json.error?.message).toMatch(/both\.yaml:6:\d+: providers\[0\]\.apiKeys: give either apiKey or apiKeys, not both/);
    await prisma.providerCredential.delete({ where: { id: provider.id } });
  }, 90_000);

  it("config apply rejects a malformed file naming the field and line, and a literal key without SWITCHYARD_ENCRYPTION_KEY", async () => {
    const bad = writeConfig(
      "bad.yaml",
      `providers:
  - { id: p1, type: openai }
models:
  - name: m1
    provider: p1
    pricing: { inputPerMTok: "cheap", outputPerMTok: "1" }
`,
    );
    const r = await run(["config", "apply", bad]);
    expect(r.code).toBe(1);
    expect(r.json.error?.message).toMatch(/bad\.yaml:6:\d+: models\[0\]\.pricing\.inputPerMTok/);

    const literal = writeConfig(
      "literal.yaml",
      `providers:\n  - { id: p2, type: openai, apiKey: "sk-literal" }\n`,
    );
    const noKey = await run(["config", "apply", literal], { SWITCHYARD_ENCRYPTION_KEY: "" });
    expect(noKey.code).toBe(1);
    expect(noKey.json.error?.message).toMatch(/SWITCHYARD_ENCRYPTION_KEY/);
    expect(await prisma.providerCredential.findUnique({ where: { slug: "p2" } })).toBeNull();
  }, 60_000);

  it("seed is idempotent and always prints a working demo key", async () => {
    const cfg = writeConfig(
      "seed.yaml",
      `providers:\n  - { id: seed-openai, type: openai, apiKey: "env:OPENAI_API_KEY" }\n`,
    );
    const first = await ok(["seed", "--config", cfg]);
    const second = await ok(["seed"]);
    expect(first).toMatchObject({
      org: { slug: "demo", name: "Demo Org" },
      team: { slug: "default" },
      user: { email: "demo@switchyard.local", password: "switchyard-demo" },
    });
    expect(first.config).toMatchObject({ providers: { created: 1 } });
    expect(second).toMatchObject({ org: first.org, team: first.team, revokedKeys: 1 });

    const keys = await prisma.virtualKey.findMany({
      where: { name: "demo", team: { slug: "default", org: { slug: "demo" } } },
    });
    expect(keys).toHaveLength(2);
    const active = keys.filter((k) => k.revokedAt === null);
    expect(active).toHaveLength(1);
    expect(active[0]!.keyHash).toBe(hashVirtualKey((second.key as { key: string }).key));
    expect(active[0]!.rpmLimit).toBe(600);
    // One monthly team budget, not one per seed run.
    const budgets = await prisma.budget.findMany({ where: { team: { slug: "default", org: { slug: "demo" } } } });
    expect(budgets).toMatchObject([{ scope: "TEAM", period: "MONTH", amountNanoUsd: 25_000_000_000n, recipients: ["demo@switchyard.local"] }]);

    const user = await prisma.user.findUniqueOrThrow({
      where: { email: "demo@switchyard.local" },
      include: { accounts: true, memberships: true },
    });
    expect(user.accounts).toHaveLength(1);
    expect(
      await verifyPassword({ hash: user.accounts[0]!.password!, password: "switchyard-demo" }),
    ).toBe(true);
    expect(user.memberships).toMatchObject([{ role: "ORG_OWNER", teamId: null }]);
    expect(await prisma.organization.count({ where: { slug: "demo" } })).toBe(1);
  }, 60_000);

  it("still writes when Redis is down, warning that proxies will refresh on their own", async () => {
    const r = await run(["orgs", "create", "redisless"]);
    expect(r.code).toBe(0);
    const down = await run(["keys", "create", "--team", "ml", "--name", "offline"], {
      REDIS_URL: "redis://127.0.0.1:1",
    });
    expect(down.code).toBe(0);
    expect(down.json).toMatchObject({ name: "offline", published: false });
    expect((down.json.warnings as string[])[0]).toMatch(/periodic refresh/);
    expect(down.stderr).toMatch(/periodic refresh/);
    expect(await prisma.virtualKey.count({ where: { id: down.json.id as string } })).toBe(1);
  }, 60_000);

  it("reports a bad environment as a JSON error", async () => {
    const r = await run(["orgs", "create", "x"], { DATABASE_URL: "not a url" });
    expect(r.code).toBe(1);
    expect(r.json.error?.message).toMatch(/DATABASE_URL/);
  });
});
