import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TokenUsage } from "@switchyard/contracts";
import { computeCostNanoUsd } from "@switchyard/pricing";
import { call, setupHarness, usageEventFor, type Harness } from "./harness";

/**
 * `finish_reason: length` with nothing in it (a reasoning model that spent its whole
 * output limit thinking): with the route's retry.onEmptyLength, the request goes to a
 * target with a larger output limit, and both answers are on the bill.
 */
const TINY_PRICE = { inputPerMTok: "1", outputPerMTok: "4" };
const MINI_PRICE = { inputPerMTok: "0.15", outputPerMTok: "0.60", cachedInputPerMTok: "0.075" };
const EMPTY_USAGE: TokenUsage = { inputTokens: 21, outputTokens: 1000, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 1000 };

/** An OpenAI-shaped upstream whose every answer ran out of output before any content. */
function startEmptyAnswerUpstream(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      hits++;
      const body = JSON.stringify({
        id: "chatcmpl-empty",
        object: "chat.completion",
        created: 1_780_000_000,
        model: "tiny-reasoner-1",
        choices: [{ index: 0, message: { role: "assistant", content: "" }, finish_reason: "length" }],
        usage: {
          prompt_tokens: EMPTY_USAGE.inputTokens,
          completion_tokens: EMPTY_USAGE.outputTokens,
          total_tokens: EMPTY_USAGE.inputTokens + EMPTY_USAGE.outputTokens,
          completion_tokens_details: { reasoning_tokens: EMPTY_USAGE.reasoningTokens },
        },
      });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        hits: () => hits,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

let h: Harness;
let base: string;
let tiny: Awaited<ReturnType<typeof startEmptyAnswerUpstream>>;

beforeAll(async () => {
  h = await setupHarness({ database: "switchyard_test_empty_length" });
  tiny = await startEmptyAnswerUpstream();
  const provider = await h.prisma.providerCredential.create({ data: { slug: "tiny-ai", type: "openai-compatible", baseUrl: tiny.url } });
  await h.prisma.model.create({
    data: { name: "tiny-reasoner", providerId: provider.id, upstreamModel: "tiny-reasoner-1", pricing: TINY_PRICE, capabilities: { maxOutputTokens: 1000 } },
  });
  await h.prisma.model.update({ where: { name: "gpt-4o-mini" }, data: { capabilities: { maxOutputTokens: 16384 } } });
  const targets = [{ model: "tiny-reasoner" }, { model: "gpt-4o-mini" }];
  await h.prisma.route.create({ data: { alias: "think", targets, options: { retry: { onEmptyLength: true } } } });
  await h.prisma.route.create({ data: { alias: "think-once", targets } });
  ({ url: base } = await h.startProxy());
}, 60_000);

afterAll(async () => {
  await h.close();
  await tiny.close();
});

const ask = (model: string) =>
  call(`${base}/v1/chat/completions`, { key: h.keys.main, body: { model, messages: [{ role: "user", content: "Prove there are infinitely many primes." }] } });

describe("retry.onEmptyLength", () => {
  it("retries an empty length-cut answer on the target with the larger output limit, billing both answers", async () => {
    const before = { tiny: tiny.hits(), mock: h.mock.requests.length };
    const r = await ask("think");
    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-model"]).toBe("gpt-4o-mini");
    const answer = JSON.parse(r.text) as { choices: { message: { content: string }; finish_reason: string }[] };
    expect(answer.choices[0]?.message.content.length).toBeGreaterThan(0);
    expect(tiny.hits() - before.tiny).toBe(1);
    expect(h.mock.requests.length - before.mock).toBe(1);

    const ev = await usageEventFor(h.queue, String(r.headers["x-request-id"]));
    expect(ev.attempts).toBe(2);
    expect(ev.attemptLog.map((a) => [a.model, a.status, a.errorClass])).toEqual([
      ["tiny-reasoner", 200, "empty_length_answer"],
      ["gpt-4o-mini", 200, null],
    ]);
    // The event's usage is both answers'; the second is what remains after the first.
    const second: TokenUsage = {
      inputTokens: ev.usage.inputTokens - EMPTY_USAGE.inputTokens,
      outputTokens: ev.usage.outputTokens - EMPTY_USAGE.outputTokens,
      cachedInputTokens: ev.usage.cachedInputTokens,
      cacheWriteTokens: ev.usage.cacheWriteTokens,
      reasoningTokens: ev.usage.reasoningTokens - EMPTY_USAGE.reasoningTokens,
    };
    expect(second.inputTokens).toBeGreaterThan(0);
    expect(second.outputTokens).toBeGreaterThan(0);
    const expected = computeCostNanoUsd(EMPTY_USAGE, TINY_PRICE) + computeCostNanoUsd(second, MINI_PRICE);
    expect(ev.costNanoUsd).toBe(expected.toString());
    expect(r.headers["x-switchyard-cost-usd"]).toBeDefined();
    // The savings ledger prices both answers on the first target (the route's "requested" model).
    expect(ev.requestedCostNanoUsd).toBe((computeCostNanoUsd(EMPTY_USAGE, TINY_PRICE) + computeCostNanoUsd(second, TINY_PRICE)).toString());
  });

  it("without the option the empty answer goes to the client as the provider sent it, one attempt", async () => {
    const r = await ask("think-once");
    expect(r.status).toBe(200);
    expect(r.headers["x-switchyard-model"]).toBe("tiny-reasoner");
    expect((JSON.parse(r.text) as { choices: { finish_reason: string }[] }).choices[0]?.finish_reason).toBe("length");
    const ev = await usageEventFor(h.queue, String(r.headers["x-request-id"]));
    expect(ev.attempts).toBe(1);
    expect(ev.costNanoUsd).toBe(computeCostNanoUsd(EMPTY_USAGE, TINY_PRICE).toString());
  });
});
