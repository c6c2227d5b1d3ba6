import { cliEnvSchema, parseEnv, type CliEnv } from "@switchyard/config";

let cached: CliEnv | undefined;

/** The CLI's environment, parsed once (on first use, so a bad env is reported like any other error). */
export function loadEnv(): CliEnv {
  cached ??= parseEnv(cliEnvSchema, process.env);
  return cached;
}
