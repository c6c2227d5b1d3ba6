import { parseEnv, workerEnvSchema, type WorkerEnv } from "@switchyard/config";

/** The worker's environment, validated once at boot; nothing else reads process.env. */
export function loadEnv(): WorkerEnv {
  return parseEnv(workerEnvSchema, process.env);
}
