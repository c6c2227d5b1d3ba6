import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setupHarness, type Harness } from "../test/harness";

let h: Harness;
let silent: Server;
const held: Socket[] = [];

beforeAll(async () => {
  h = await setupHarness();
  // A "Postgres" that accepts connections and never says a word (a firewall that drops, a hung server).
  silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await h.close();
});

describe("booting against a Postgres that never answers", () => {
  it("gives up within the connection timeout with a clear error, instead of hanging", async () => {
    const { port } = silent.address() as { port: number };
    const started = performance.now();
    await expect(h.startProxy({ envOverrides: { DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/switchyard` } })).rejects.toThrow(
      /cannot load the configuration snapshot from Postgres/,
    );
    expect(held.length).toBeGreaterThan(0); // it did try this server
    expect(performance.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
