import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";
import pg from "pg";

export interface MigrateResult {
  /** Migrations this run applied, oldest first (empty when already up to date). */
  applied: string[];
  /** Every migration now recorded as finished. */
  total: number;
}

async function finishedMigrations(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const table = await client.query<{ t: string | null }>(
      `SELECT to_regclass('public._prisma_migrations')::text AS t`,
    );
    if (!table.rows[0]?.t) return [];
    const rows = await client.query<{ migration_name: string }>(
      `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
    );
    return rows.rows.map((r) => r.migration_name);
  } finally {
    await client.end();
  }
}

/**
 * Creates the database named in `databaseUrl` when it does not exist yet, connecting
 * to the server's `postgres` database to do so. Safe to race with another creator.
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!name) throw new Error("DATABASE_URL names no database");
  url.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if ((exists.rowCount ?? 0) > 0) return false;
      try {
        await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
        return true;
      } catch (err) {
        const code = (err as { code?: string }).code;
        // 42P04: created meanwhile by someone else. 55006: template1 busy because
        // another CREATE DATABASE is running at this moment; wait and look again.
        if (code === "42P04") return false;
        if (code !== "55006" || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100 + attempt * 50));
      }
    }
  } finally {
    await admin.end();
  }
}

/**
 * Creates the database if needed, then applies the committed migrations (`prisma migrate deploy`, JS schema engine, no
 * binary download) to `databaseUrl`. Runs the prisma CLI of this package, in this
 * package's folder so it finds prisma.config.ts and prisma/migrations. Throws with
 * the CLI's output when it fails. `env` is the base environment of the child (this
 * package reads no env itself; callers pass what their env.ts allows, e.g. proxies).
 */
export async function migrateDeploy(
  databaseUrl: string,
  opts: { env?: Record<string, string | undefined> } = {},
): Promise<MigrateResult> {
  // Resolved lazily: bundlers may include this module in apps that never migrate.
  const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const prismaCli = path.join(
    path.dirname(
      createRequire(path.join(packageRoot, "package.json")).resolve("prisma/package.json"),
    ),
    "build/index.js",
  );
  await ensureDatabase(databaseUrl);
  const before = new Set(await finishedMigrations(databaseUrl));
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [prismaCli, "migrate", "deploy"],
      // The CLI reads DATABASE_URL through prisma.config.ts.
      {
        cwd: packageRoot,
        // Object.assign: Next's typings make NODE_ENV a required key of ProcessEnv.
        env: Object.assign({} as NodeJS.ProcessEnv, opts.env, { DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: "1" }),
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              `prisma migrate deploy failed: ${[stderr, stdout].join("\n").trim() || err.message}`,
            ),
          );
        else resolve();
      },
    );
  });
  const after = await finishedMigrations(databaseUrl);
  return { applied: after.filter((m) => !before.has(m)), total: after.length };
}
