import type { PrismaClient } from "./generated/prisma/client";
import { migrateDeploy } from "./migrate";

/**
 * Creates (if needed) and migrates a database of its own for one test suite, with the
 * committed migrations (`prisma migrate deploy`, never `db push`). Returns its URL.
 * `serverUrl` is the Postgres server to use, e.g. postgresql://postgres@127.0.0.1:5432.
 */
export async function prepareTestDatabase(name: string, serverUrl = "postgresql://postgres@127.0.0.1:5432"): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad test database name ${name}`);
  const url = `${serverUrl}/${name}`;
  await migrateDeploy(url, { env: process.env });
  return url;
}

/** Empties every application table (keeps the migration history). */
export async function truncateAll(prisma: PrismaClient): Promise<void> {
  const rows = await prisma.$queryRaw<{ tablename: string }[]>`
    SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`;
  if (rows.length === 0) return;
  const list = rows.map((r) => `"public"."${r.tablename}"`).join(", ");
  await prisma.$executeRawUnsafe(`TRUNCATE ${list} RESTART IDENTITY CASCADE`);
}
