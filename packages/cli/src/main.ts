import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigFileError, EnvError } from "@switchyard/config";
import { CommandContext, type CommandResult } from "./context";
import { loadEnv } from "./env";
import { CliError } from "./errors";
import { migrateCommand } from "./commands/migrate";
import { seedCommand } from "./commands/seed";
import { configApplyCommand } from "./commands/config-apply";
import { createOrgCommand } from "./commands/orgs";
import { createTeamCommand } from "./commands/teams";
import { createUserCommand } from "./commands/users";
import { createKeyCommand, revokeKeyCommand } from "./commands/keys";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | undefined>;

interface CommandSpec {
  usage: string;
  options: Options;
  /** Positional arguments after the command words. */
  positionals: string[];
  run(ctx: CommandContext, args: string[], values: Values): Promise<CommandResult>;
}

const str = (values: Values, name: string): string | undefined => {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
};
const required = (values: Values, name: string): string => {
  const v = str(values, name);
  if (v === undefined) throw new CliError(`--${name} is required`);
  return v;
};

const commands: Record<string, CommandSpec> = {
  migrate: { usage: "migrate", options: {}, positionals: [], run: (ctx) => migrateCommand(ctx) },
  seed: {
    usage: "seed [--config <file>]",
    options: { config: { type: "string" } },
    positionals: [],
    run: (ctx, _a, v) => seedCommand(ctx, str(v, "config")),
  },
  "config apply": {
    usage: "config apply <file>",
    options: {},
    positionals: ["file"],
    run: (ctx, [file]) => configApplyCommand(ctx, file!),
  },
  "orgs create": {
    usage: "orgs create <slug> [--name <name>]",
    options: { name: { type: "string" } },
    positionals: ["slug"],
    run: (ctx, [slug], v) => createOrgCommand(ctx, slug!, str(v, "name")),
  },
  "teams create": {
    usage: "teams create <slug> --org <slug> [--name <name>]",
    options: { org: { type: "string" }, name: { type: "string" } },
    positionals: ["slug"],
    run: (ctx, [slug], v) => createTeamCommand(ctx, slug!, required(v, "org"), str(v, "name")),
  },
  "users create": {
    usage:
      "users create <email> --org <slug> [--team <slug>] [--role org_owner|org_admin|team_admin|member|viewer] [--password <p>] [--name <name>]",
    options: {
      org: { type: "string" },
      team: { type: "string" },
      role: { type: "string" },
      password: { type: "string" },
      name: { type: "string" },
    },
    positionals: ["email"],
    run: (ctx, [email], v) =>
      createUserCommand(ctx, {
        email: email!,
        org: required(v, "org"),
        team: str(v, "team"),
        role: str(v, "role"),
        password: str(v, "password"),
        name: str(v, "name"),
      }),
  },
  "keys create": {
    usage:
      "keys create --team <slug> [--org <slug>] [--name <name>] [--models a,b] [--rpm N] [--tpm N] [--budget-usd X [--budget-period day|week|month]] [--expires ISO]",
    options: {
      team: { type: "string" },
      org: { type: "string" },
      name: { type: "string" },
      models: { type: "string" },
      rpm: { type: "string" },
      tpm: { type: "string" },
      "budget-usd": { type: "string" },
      "budget-period": { type: "string" },
      expires: { type: "string" },
    },
    positionals: [],
    run: (ctx, _a, v) =>
      createKeyCommand(ctx, {
        team: required(v, "team"),
        org: str(v, "org"),
        name: str(v, "name"),
        models: str(v, "models"),
        rpm: str(v, "rpm"),
        tpm: str(v, "tpm"),
        budgetUsd: str(v, "budget-usd"),
        budgetPeriod: str(v, "budget-period"),
        expires: str(v, "expires"),
      }),
  },
  "keys revoke": {
    usage: "keys revoke <id | prefix | key>",
    options: {},
    positionals: ["target"],
    run: (ctx, [t], _v) => revokeKeyCommand(ctx, t!),
  },
};

function usage(): string {
  return [
    "Usage: switchyard <command> [--json]",
    "",
    "Commands:",
    ...Object.values(commands).map((c) => `  ${c.usage}`),
  ].join("\n");
}

/** Finds the command from its leading words ("keys create"), then parses its options strictly. */
function resolve(argv: string[]): { spec: CommandSpec; args: string[]; values: Values } | null {
  const words = argv.filter((a) => !a.startsWith("-"));
  const name = [words.slice(0, 2).join(" "), words[0] ?? ""].find((n) => n in commands);
  if (!name) return null;
  const spec = commands[name]!;
  const rest = [...argv];
  for (const w of name.split(" ")) rest.splice(rest.indexOf(w), 1);
  const { values, positionals } = parseArgs({
    args: rest,
    options: { ...spec.options, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) throw new CliError(`Usage: switchyard ${spec.usage}`);
  if (positionals.length !== spec.positionals.length) {
    throw new CliError(
      positionals.length < spec.positionals.length
        ? `missing <${spec.positionals[positionals.length]}>. Usage: switchyard ${spec.usage}`
        : `unexpected argument "${positionals[spec.positionals.length]}". Usage: switchyard ${spec.usage}`,
    );
  }
  return { spec, args: positionals, values };
}

function messageOf(err: unknown): string {
  if (err instanceof CliError || err instanceof ConfigFileError || err instanceof EnvError)
    return err.message;
  // parseArgs errors (unknown option…) are the user's too.
  if (err instanceof TypeError && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))
    return err.message;
  return err instanceof Error ? err.message : String(err);
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const print = (doc: unknown, text: string): void => {
    process.stdout.write(json ? `${JSON.stringify(doc)}\n` : `${text}\n`);
  };
  let ctx: CommandContext | undefined;
  try {
    const resolved = resolve(argv);
    if (!resolved) {
      if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
        print({ usage: usage() }, usage());
        return 0;
      }
      throw new CliError(
        `unknown command "${argv.filter((a) => !a.startsWith("-")).join(" ")}".\n${usage()}`,
      );
    }
    ctx = new CommandContext(loadEnv());
    const result = await resolved.spec.run(ctx, resolved.args, resolved.values);
    print(
      ctx.warnings.length > 0 ? { ...result.json, warnings: ctx.warnings } : result.json,
      result.text,
    );
    return 0;
  } catch (err) {
    const message = messageOf(err);
    if (json) process.stdout.write(`${JSON.stringify({ error: { message } })}\n`);
    else process.stderr.write(`error: ${message}\n`);
    // Unexpected failures keep their stack on stderr for bug reports.
    if (
      !(err instanceof CliError || err instanceof ConfigFileError || err instanceof EnvError) &&
      err instanceof Error &&
      !json
    )
      process.stderr.write(`${err.stack ?? ""}\n`);
    return 1;
  } finally {
    await ctx?.close().catch(() => undefined);
  }
}

process.exitCode = await main(process.argv.slice(2));
