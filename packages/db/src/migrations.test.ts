import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDatabase } from "./migrate";
import { decodeEncryptionKey, decryptSecret, encryptSecret } from "./secrets";

// The data step of a migration is tested on data written by the schema before it:
// `prisma migrate deploy` cannot stop at a given migration, so the SQL files are run
// one by one with pg.
const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../prisma/migrations");
const migrationSql = (name: string) => readFileSync(path.join(migrationsDir, name, "migration.sql"), "utf8");
const migrationNamed = (suffix: string) => {
  const found = readdirSync(migrationsDir).find((d) => d.endsWith(`_${suffix}`));
  if (!found) throw new Error(`no migration named ${suffix}`);
  return found;
};

const SERVER = "postgresql://postgres@127.0.0.1:5432";
const DB = "switchyard_test_db_migrations";
const key = decodeEncryptionKey("c".repeat(64));
let client: pg.Client;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: `${SERVER}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${DB}" WITH (FORCE)`);
  await admin.end();
  await ensureDatabase(`${SERVER}/${DB}`);
  client = new pg.Client({ connectionString: `${SERVER}/${DB}` });
  await client.connect();
});
afterAll(async () => client?.end());

describe("migration provider_keys", () => {
  it("moves each provider's secret into a key labelled default, keeping source and ciphertext", async () => {
    await client.query(migrationSql(migrationNamed("init")));
    const cipher = encryptSecret("sk-live-secret-9876", key);
    await client.query(`INSERT INTO organizations (id, slug, name, "updatedAt") VALUES ('org1', 'acme', 'Acme', now())`);
    await client.query(
      `INSERT INTO provider_credentials (id, "orgId", slug, type, "baseUrl", "apiKeyRef", "apiKeyEncrypted", source, "updatedAt") VALUES
        ('p_ref', NULL, 'openai-main', 'openai', NULL, 'env:OPENAI_API_KEY', NULL, 'CONFIG_FILE', now()),
        ('p_enc', 'org1', 'dash-local', 'openai-compatible', 'http://127.0.0.1:8080/v1', NULL, $1, 'DASHBOARD', now()),
        ('p_none', NULL, 'ollama', 'openai-compatible', 'http://127.0.0.1:11434/v1', NULL, NULL, 'CONFIG_FILE', now())`,
      [cipher],
    );

    await client.query(migrationSql(migrationNamed("provider_keys")));

    const keys = await client.query<{
      providerId: string;
      label: string;
      apiKeyRef: string | null;
      apiKeyEncrypted: string | null;
      last4: string | null;
      source: string;
      disabledAt: Date | null;
    }>(`SELECT "providerId", label, "apiKeyRef", "apiKeyEncrypted", last4, source::text, "disabledAt" FROM provider_keys ORDER BY "providerId"`);
    expect(keys.rows).toEqual([
      { providerId: "p_enc", label: "default", apiKeyRef: null, apiKeyEncrypted: cipher, last4: null, source: "DASHBOARD", disabledAt: null },
      { providerId: "p_ref", label: "default", apiKeyRef: "env:OPENAI_API_KEY", apiKeyEncrypted: null, last4: null, source: "CONFIG_FILE", disabledAt: null },
    ]);
    expect(decryptSecret(keys.rows[0]!.apiKeyEncrypted!, key)).toBe("sk-live-secret-9876");

    const cols = await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'provider_credentials'`,
    );
    expect(cols.rows.map((c) => c.column_name)).not.toContain("apiKeyRef");
    expect(cols.rows.map((c) => c.column_name)).not.toContain("apiKeyEncrypted");
  });

  it("refuses a key with both or neither secret, a duplicate label, and cascades on provider delete", async () => {
    const insert = (id: string, label: string, ref: string | null, enc: string | null) =>
      client.query(
        `INSERT INTO provider_keys (id, "providerId", label, "apiKeyRef", "apiKeyEncrypted", "updatedAt") VALUES ($1, 'p_none', $2, $3, $4, now())`,
        [id, label, ref, enc],
      );
    await expect(insert("k1", "a", null, null)).rejects.toThrow(/provider_keys_one_secret/);
    await expect(insert("k2", "b", "env:X", "abc")).rejects.toThrow(/provider_keys_one_secret/);
    await insert("k3", "c", "env:X", null);
    await expect(insert("k4", "c", "env:Y", null)).rejects.toThrow(/duplicate key/);
    await client.query(`DELETE FROM provider_credentials WHERE id = 'p_none'`);
    expect((await client.query(`SELECT 1 FROM provider_keys WHERE "providerId" = 'p_none'`)).rowCount).toBe(0);
  });
});
