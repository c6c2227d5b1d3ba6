import { defineConfig } from "vitest/config";
// The smoke starts Postgres-backed Switchyard and several processes: one file at a time, generous timeout.
export default defineConfig({ test: { fileParallelism: false, testTimeout: 90_000, hookTimeout: 60_000 } });
