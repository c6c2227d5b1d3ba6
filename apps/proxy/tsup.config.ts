import { defineConfig } from "tsup";
import { checkExternals } from "@switchyard/build/check-externals";

/**
 * One file, dist/main.js: workspace packages (TypeScript sources) are bundled in; every
 * npm dependency stays external and is resolved from this app's node_modules at run
 * time. That includes @prisma/client, whose runtime loads the query compiler (wasm)
 * with dynamic imports of @prisma/client/runtime/* — bundling it would break that. So
 * every npm package imported by a bundled workspace package must also be a dependency
 * of this app (e.g. yaml, via @switchyard/config).
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
