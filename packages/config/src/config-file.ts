import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, isNode } from "yaml";
import { switchyardConfigSchema, type SwitchyardConfig } from "@switchyard/contracts";

export class ConfigFileError extends Error {
  constructor(
    message: string,
    readonly problems: { path: string; line: number | null; column: number | null; message: string }[],
  ) {
    super(message);
    this.name = "ConfigFileError";
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === "number") return `${acc}[${part}]`;
    return acc ? `${acc}.${String(part)}` : String(part);
  }, "");
}

/** Parses and validates `switchyard.yaml` text; errors name the field, line and column. */
export function parseConfigText(text: string, fileName = "switchyard.yaml"): SwitchyardConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { path: "", line: pos.line, column: pos.col, message: e.message.split("\n")[0] ?? e.message };
    });
    throw new ConfigFileError(
      problems.map((p) => `${fileName}:${p.line}:${p.column}: YAML syntax error: ${p.message}`).join("\n"),
      problems,
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = switchyardConfigSchema.safeParse(raw);
  if (result.success) return result.data;

  const problems = result.error.issues.map((issue) => {
    // Walk up the path until a node with a position exists (a missing field has none).
    let line: number | null = null;
    let column: number | null = null;
    for (let n = issue.path.length; n >= 0; n--) {
      const node: unknown = doc.getIn(issue.path.slice(0, n) as (string | number)[], true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        line = pos.line;
        column = pos.col;
        break;
      }
    }
    return { path: formatPath(issue.path), line, column, message: issue.message };
  });
  const text2 = problems
    .map((p) => `${fileName}${p.line ? `:${p.line}:${p.column}` : ""}: ${p.path || "(root)"}: ${p.message}`)
    .join("\n");
  throw new ConfigFileError(text2, problems);
}

export function loadConfigFile(path: string): SwitchyardConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigFileError(`cannot read config file ${path}: ${(err as Error).message}`, []);
  }
  return parseConfigText(text, path);
}

/** `env:NAME` → the variable's value from the given env; a literal is returned as is. */
export function resolveSecretRef(ref: string, env: Record<string, string | undefined>): string | undefined {
  if (ref.startsWith("env:")) return env[ref.slice(4)];
  return ref;
}
