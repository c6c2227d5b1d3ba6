import { Worker } from "node:worker_threads";
import { packRanks, rankListPath, type EncodingName, type RankData } from "@switchyard/tokenizer";

/**
 * Loads a vocabulary in a short-lived worker thread: it requires gpt-tokenizer's rank list,
 * packs it with the tokenizer's own packRanks (its source text, run as is) and hands the
 * two buffers over (transferred, not copied). The list's ~7 MB of strings die with the
 * worker's heap instead of staying on the proxy's for good (see packages/tokenizer/src/ranks.ts).
 * The worker is plain JavaScript from a string, so it runs the same from src (tests) and
 * from dist/main.js.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const mod = require(workerData.path);
const data = (${packRanks.toString()})(Array.isArray(mod) ? mod : mod.default);
parentPort.postMessage(data, [data.bytes.buffer, data.offsets.buffer]);
`;

export function loadRankDataInWorker(name: EncodingName): Promise<RankData> {
  return new Promise<RankData>((resolve, reject) => {
    // execArgv: [] keeps the parent's loaders and flags (tsx, --input-type) out of a plain CommonJS script.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { path: rankListPath(name) } });
    let settled = false;
    worker.once("message", (data: RankData) => {
      settled = true;
      resolve(data);
      void worker.terminate();
    });
    worker.once("error", (err) => {
      settled = true;
      reject(err);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`loading the ${name} vocabulary failed (worker exit ${code})`));
    });
  });
}
