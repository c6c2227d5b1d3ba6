#!/usr/bin/env node
// Quick start demo: `node --import tsx tooling/mock-upstream/src/main.ts --port 4010`
import { parseArgs } from "node:util";
import { startMockUpstream } from "./index";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.MOCK_UPSTREAM_PORT ?? "4010" },
    host: { type: "string", default: "127.0.0.1" },
    "event-delay-ms": { type: "string", default: "0" },
  },
});

const mock = await startMockUpstream({
  port: Number(values.port),
  host: values.host,
  eventDelayMs: Number(values["event-delay-ms"]),
});
console.log(`mock upstream (OpenAI-compatible, recorded replies) listening on ${mock.url}`);
const stop = () => {
  void mock.close().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
