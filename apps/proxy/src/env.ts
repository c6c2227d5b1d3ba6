import { parseEnv, proxyEnvSchema, type ProxyEnv } from "@switchyard/config";

export interface LoadedEnv {
  env: ProxyEnv;
  /**
   * The raw environment, kept only to resolve provider keys given as "env:NAME"
   * (resolveSecretRef); nothing else reads it.
   */
  secretEnv: Readonly<Record<string, string | undefined>>;
}

/** The only place the proxy reads process.env. Throws an EnvError naming bad variables. */
export function loadEnv(source: Record<string, string | undefined> = process.env): LoadedEnv {
  return { env: parseEnv(proxyEnvSchema, source), secretEnv: { ...source } };
}
