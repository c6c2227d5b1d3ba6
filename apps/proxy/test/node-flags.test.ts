import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";

/**
 * The proxy's V8 flags (apps/proxy/package.json's "nodeFlags") hold its memory under load
 * (README, Performance). The bench, the quick start and e2e read them from package.json;
 * the start script and the deployment files spell them out, and must say the same.
 */
const repoRoot = path.resolve(import.meta.dirname, "../../..");
const read = (file: string) => readFileSync(path.join(repoRoot, file), "utf8");
const pkg = JSON.parse(read("apps/proxy/package.json")) as {
  nodeFlags: string[];
  scripts: Record<string, string>;
};
const command = ["node", ...pkg.nodeFlags, "dist/main.js"];

describe("the proxy's node flags", () => {
  it("are flags this node accepts", () => {
    expect(pkg.nodeFlags.length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [...pkg.nodeFlags, "-e", "0"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("are in `pnpm start`", () => {
    expect(pkg.scripts.start).toBe(command.join(" "));
  });

  it("are in docker-compose.yml's proxy service", () => {
    const compose = parse(read("docker-compose.yml")) as {
      services: { proxy: { command: string[] } };
    };
    expect(compose.services.proxy.command).toEqual(command);
  });

  it("are in the Kubernetes proxy Deployment", () => {
    const docs = parseAllDocuments(read("deploy/kubernetes/proxy.yaml")).map(
      (d) => d.toJS() as { kind: string; spec?: unknown },
    );
    const deployment = docs.find((d) => d.kind === "Deployment") as
      | { spec: { template: { spec: { containers: { name: string; command: string[] }[] } } } }
      | undefined;
    const container = deployment?.spec.template.spec.containers.find((c) => c.name === "proxy");
    expect(container?.command).toEqual(command);
  });
});
