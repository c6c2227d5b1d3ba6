// Sums the vitest JSON reports written by each package and prints one closing line.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const dir = process.argv[2] ?? "var/test-reports";
let passed = 0, failed = 0, skipped = 0, files = 0;
for (const f of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
  const r = JSON.parse(readFileSync(path.join(dir, f), "utf8"));
  files++;
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`${f.replace(/\.json$/, "").padEnd(28)} ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
if (files === 0 || passed === 0 || failed > 0 || skipped > 0) process.exit(1);
