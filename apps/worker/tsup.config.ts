import { defineConfig } from "tsup";
import { checkExternals } from "@switchyard/build/check-externals";

// One file to run in production. Workspace packages are TypeScript sources, so they
// are bundled in; npm dependencies stay external and load from node_modules (the
// Prisma runtime in particular resolves its wasm query compiler from @prisma/client).
export default defineConfig({
  entry: { main: "src/main.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  outDir: "dist",
  clean: true,
  sourcemap: true,
  noExternal: [/^@switchyard\//],
  // Fails the build when the bundle imports an npm package this app does not depend on.
  onSuccess: async () => checkExternals(import.meta.dirname),
});
