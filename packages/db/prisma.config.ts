import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

// The schema's datasource must name env("DATABASE_URL") or the CLI cannot read the
// schema and falls back to downloading a query engine; give it a default so
// `prisma generate` works with no database configured.
process.env.DATABASE_URL ??= "postgresql://postgres@127.0.0.1:5432/switchyard";
const databaseUrl = process.env.DATABASE_URL;

// JS schema engine + driver adapter: no binary is downloaded (TOOLCHAIN.md).
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  adapter: async () => new PrismaPg({ connectionString: databaseUrl }),
});
