// Shared flat config. Every package calls `switchyard({ ... })` with the rules of
// ARCHITECTURE.md that apply to it, so the package map is enforced by the linter.
import path from "node:path";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Workspace packages and what each may import (ARCHITECTURE.md "Packages"). */
export const allowedDeps = {
  contracts: [],
  config: ["contracts"],
  db: ["contracts", "config"],
  providers: ["contracts"],
  pricing: ["contracts"],
  tokenizer: ["contracts"],
  limits: ["contracts"],
  jobs: ["contracts"],
  cli: ["contracts", "config", "db", "jobs", "pricing"],
  proxy: ["contracts", "config", "db", "providers", "pricing", "tokenizer", "limits", "jobs"],
  worker: ["contracts", "config", "db", "pricing", "limits", "jobs"],
  dashboard: ["contracts", "config", "db", "providers", "pricing", "limits", "jobs"],
  e2e: ["contracts", "config", "db", "jobs", "pricing", "mock-upstream"],
  // test-only fake provider; imports nothing of ours
  "mock-upstream": [],
  // test and demo SMTP server; imports nothing of ours
  "mail-catcher": [],
  // the performance suite: seeds a database, drains the usage queue, replays fixtures
  bench: ["db", "jobs", "limits", "mock-upstream"],
};

const ioModules = [
  "fs", "net", "http", "https", "http2", "child_process", "dgram", "dns", "tls", "worker_threads", "cluster",
].flatMap((m) => [m, `node:${m}`, `${m}/*`, `node:${m}/*`]);
const ioPackages = ["undici", "ioredis", "pg", "bullmq", "@prisma/*", "nodemailer"];

/** Keeps relative imports inside the package that owns the file. */
const localPlugin = {
  rules: {
    "no-cross-package-relative": {
      meta: { type: "problem", messages: { cross: "Relative import '{{src}}' leaves this package; import it by its package name." } },
      create(context) {
        const filename = context.filename;
        let root = path.dirname(filename);
        const marker = filename.match(/^(.*?\/(?:apps|packages|tooling)\/[^/]+)\//) ?? filename.match(/^(.*?\/e2e)\//);
        if (marker) root = marker[1];
        const check = (node) => {
          const src = node.source?.value;
          if (typeof src !== "string" || !src.startsWith(".")) return;
          const resolved = path.resolve(path.dirname(filename), src);
          if (!resolved.startsWith(root + path.sep) && resolved !== root) {
            context.report({ node, messageId: "cross", data: { src } });
          }
        };
        return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
      },
    },
  },
};

/**
 * @param {{ name: keyof typeof allowedDeps, pure?: boolean, tsconfigRootDir: string, envFiles?: string[], ignores?: string[] }} opts
 * pure: no I/O and no env (providers, pricing, tokenizer, contracts).
 */
export function switchyard(opts) {
  const allowed = new Set(allowedDeps[opts.name] ?? []);
  const restrictionsFor = (extraAllowed) => {
    const forbidden = Object.keys(allowedDeps)
      .filter((n) => n !== opts.name && !allowed.has(n) && !extraAllowed.includes(n))
      .map((n) => `@switchyard/${n}`);
    const patterns = [];
    if (forbidden.length > 0)
      patterns.push({ group: forbidden.flatMap((p) => [p, `${p}/*`]), message: "ARCHITECTURE.md: this package may not import that one." });
    if (opts.pure) patterns.push({ group: [...ioModules, ...ioPackages], message: "This package is pure: no I/O (ARCHITECTURE.md)." });
    return patterns;
  };
  const restrictedPatterns = restrictionsFor([]);
  // Tests and benchmarks may use the fake provider, the mail catcher and the bench suite's setup; shipped code may not.
  const testPatterns = restrictionsFor(["mock-upstream", "mail-catcher", "bench"]);
  const testFiles = ["**/*.test.ts", "**/*.test.tsx", "test/**", "bench/**", "src/testing/**"];

  return tseslint.config(
    { ignores: ["dist/**", ".next/**", "src/generated/**", "next-env.d.ts", "*.config.*", ...(opts.ignores ?? [])] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: opts.tsconfigRootDir } },
      plugins: { switchyard: localPlugin },
      rules: {
        "switchyard/no-cross-package-relative": "error",
        "no-restricted-imports": ["error", { patterns: restrictedPatterns }],
        "no-restricted-properties": ["error", { object: "process", property: "env", message: "Only an app's src/env.ts reads process.env." }],
        "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
        "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false, attributes: false } }],
      },
    },
    { files: testFiles, rules: { "no-restricted-imports": ["error", { patterns: testPatterns }] } },
    {
      // env is read in exactly one place per app; tests and scripts set up their own processes.
      files: ["src/env.ts", "**/*.test.ts", "**/*.test.tsx", "test/**", "scripts/**", ...(opts.envFiles ?? [])],
      rules: { "no-restricted-properties": "off" },
    },
  );
}
