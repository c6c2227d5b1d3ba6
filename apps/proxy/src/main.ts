import { bootProxy } from "./boot";
import { loadEnv } from "./env";
import { createLogger } from "./logger";

async function main(): Promise<void> {
  const { env, secretEnv } = loadEnv();
  const logger = createLogger(env.LOG_LEVEL, { async: true });
  const running = await bootProxy({ env, secretEnv, logger });
  const address = await running.proxy.listen(env.PROXY_PORT, env.PROXY_HOST);
  logger.info({ port: address.port, host: env.PROXY_HOST }, "proxy listening");

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining in-flight requests");
    running
      .shutdown(env.PROXY_SHUTDOWN_GRACE_MS)
      .then(() => exitFlushed(0))
      .catch((err: unknown) => {
        logger.error({ err }, "unclean shutdown");
        exitFlushed(1);
      });
  };
  // The log destination is asynchronous: write out what it holds before exiting.
  const exitFlushed = (code: number) => {
    logger.flush((err) => {
      if (err) console.error(err);
      process.exit(code);
    });
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  // An EnvError already names every bad variable.
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
