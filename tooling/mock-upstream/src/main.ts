#!/usr/bin/env node
// Quick start demo: `node --import tsx tooling/mock-upstream/src/main.ts --port 4010`
import { parseArgs } from "node:util";
import { startMockUpstream, type MockProviderName } from "./index";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.MOCK_UPSTREAM_PORT ?? "4010" },
    provider: { type: "string", default: "openai" },
    host: { type: "string", default: "127.0.0.1" },
    "event-delay-ms": { type: "string", default: "0" },
    /** "hash" (default) or "lexical": see MockUpstreamOptions.embeddings. */
    embeddings: { type: "string", default: "hash" },
  },
});

const mock = await startMockUpstream({
  provider: values.provider as MockProviderName,
  port: Number(values.port),
  host: values.host,
  eventDelayMs: Number(values["event-delay-ms"]),
  embeddings: values.embeddings === "lexical" ? "lexical" : "hash",
});
console.log(`mock upstream (${values.provider}, recorded replies) listening on ${mock.url}`);
const stop = () => {
  void mock.close().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
