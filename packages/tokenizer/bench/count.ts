/**
 * Cost of counting: first-use load of o200k_base, then counting a ~2k-token chat prompt.
 * Run: pnpm --filter @switchyard/tokenizer bench
 */
import type { ChatCompletionRequest } from "@switchyard/contracts";
import { countChatInputTokens, countChatInputTokensWith, loadEncoding } from "../src/index";

// Varied text (not one sentence repeated) so the BPE merge cache does not flatter the numbers.
const words = "gateway provider token budget stream latency request usage invoice router fallback retry cache vector prompt model tenant quota region replica".split(" ");
let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const paragraph = (n: number) => Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]! + (rand() < 0.1 ? `-${Math.floor(rand() * 1000)}` : "")).join(" ");
const request: ChatCompletionRequest = {
  model: "gpt-4o",
  messages: [
    { role: "system", content: `You are a helpful assistant. ${paragraph(200)}` },
    { role: "user", content: paragraph(800) },
    { role: "assistant", content: paragraph(300) },
    { role: "user", content: paragraph(500) },
  ],
};

const t0 = performance.now();
const enc = await loadEncoding("o200k_base");
const loadMs = performance.now() - t0;
const first = countChatInputTokensWith(enc, request, "gpt-4o");
const runs = 200;
const t1 = performance.now();
for (let i = 0; i < runs; i++) {
  (request.messages[3] as { content: string }).content = paragraph(500); // a fresh prompt each time
  countChatInputTokensWith(enc, request, "gpt-4o");
}
const perCallMs = (performance.now() - t1) / runs;
const viaAsync = performance.now();
await countChatInputTokens(request, "gpt-4o");
console.log(
  JSON.stringify({ promptTokens: first.tokens, encodingLoadMs: +loadMs.toFixed(1), countMsPerPrompt: +perCallMs.toFixed(3), asyncWrapperMs: +(performance.now() - viaAsync).toFixed(3) }),
);
