import { defineConfig } from "vitest/config";
export default defineConfig({
  test: { fileParallelism: false, testTimeout: 120_000, hookTimeout: 240_000, include: ["src/**/*.test.ts"] },
});
