import { defineConfig } from "tsup";
import { checkExternals } from "@switchyard/build/check-externals";

/**
 * One file, dist/main.js: workspace packages (TypeScript sources) are bundled in; every
 * npm dependency stays external and is resolved from this app's node_modules at run
 * time (gpt-tokenizer's rank lists, for one, are resolved by path and loaded in a child process).
 * So every npm package imported by a bundled workspace package must also be a dependency
 * of this app (e.g. yaml, via @switchyard/config). The proxy does not use the Prisma
 * client: it imports only @switchyard/db/secrets, and reads Postgres with pg.
 */
export default defineConfig({
  entry: { main: "src/main.ts" },
  format: ["esm"],
  target: "node20",
  platform: "node",
  outDir: "dist",
  clean: true,
  sourcemap: true,
  splitting: false,
  noExternal: [/^@switchyard\//],
  // Fails the build when the bundle imports an npm package this app does not depend on.
  onSuccess: async () => checkExternals(import.meta.dirname),
  // Any bare specifier that is not a workspace package.
  external: [/^(?!@switchyard\/)[^./]/],
});
