import { pino } from "pino";
import { createPrismaClient } from "@switchyard/db";
import { createProducerConnection, createRedisConnection } from "@switchyard/jobs";
import { EnvError, type WorkerEnv } from "@switchyard/config";
import { loadEnv } from "./env";
import { startUsageConsumer } from "./usage/consumer";
import { systemClock } from "./budgets/budgets";
import { startBudgetLoop } from "./budgets/loop";
import { createSmtpMailer } from "./budgets/mailer";
import { startRetentionLoop } from "./retention/retention";

function loadEnvOrExit(): WorkerEnv {
  try {
    return loadEnv();
  } catch (err) {
    if (err instanceof EnvError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const env = loadEnvOrExit();
  const logger = pino({ level: env.LOG_LEVEL, base: { app: "worker" } });
  const prisma = createPrismaClient(env.DATABASE_URL);
  // Fail at boot, not at the first batch, when the database is unreachable.
  await prisma.$queryRaw`SELECT 1`;
  const connection = createRedisConnection(env.REDIS_URL);
  connection.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));

  // Budget counters get their own connection that fails fast: a Redis outage must not
  // park the budget loop (BullMQ's connection retries forever by design).
  const limitsRedis = createProducerConnection(env.REDIS_URL);
  limitsRedis.on("error", (err) =>
    logger.warn({ err: err.message }, "limits redis connection error"),
  );
  const mailer = createSmtpMailer(env.SMTP_URL, env.MAIL_FROM);
  const budgets = startBudgetLoop({
    prisma,
    redis: limitsRedis,
    mailer,
    clock: systemClock,
    limitsPrefix: env.SWITCHYARD_LIMITS_PREFIX,
    dashboardUrl: env.DASHBOARD_URL,
    intervalMs: env.WORKER_BUDGET_INTERVAL_MS,
    logger,
  });

  const usage = startUsageConsumer({
    prisma,
    connection,
    batchSize: env.WORKER_BATCH_SIZE,
    batchWaitMs: env.WORKER_BATCH_WAIT_MS,
    concurrency: env.WORKER_CONCURRENCY,
    lockDuration: env.WORKER_LOCK_DURATION_MS,
    stalledInterval: env.WORKER_STALLED_INTERVAL_MS,
    logger,
    onCommitted: (events) => budgets.usageCommitted(events),
  });
  await usage.worker.waitUntilReady();

  // Runs at start, then on its interval; a Postgres advisory lock lets one worker at a time do it.
  const retention = startRetentionLoop({
    databaseUrl: env.DATABASE_URL,
    clock: systemClock,
    intervalMs: env.WORKER_RETENTION_INTERVAL_MS,
    logger,
  });
  logger.info(
    {
      batchSize: env.WORKER_BATCH_SIZE,
      concurrency: env.WORKER_CONCURRENCY,
      budgetIntervalMs: env.WORKER_BUDGET_INTERVAL_MS,
      retentionIntervalMs: env.WORKER_RETENTION_INTERVAL_MS,
    },
    "worker ready",
  );

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight usage batches");
    // Jobs not committed by then stay locked in Redis; BullMQ's stalled-job check
    // hands them to another worker, so a hard exit loses nothing either.
    const hardExit = setTimeout(() => {
      logger.error("shutdown timed out; exiting");
      process.exit(1);
    }, 60_000);
    hardExit.unref();
    try {
      // A retention run in progress stops after its current batch (each batch is committed).
      const retentionStopped = retention.stop();
      await usage.close();
      // After the usage consumer: its last batches schedule budget checks, which finish here.
      await budgets.stop();
      await retentionStopped;
      mailer.close();
      await prisma.$disconnect();
      await connection.quit();
      await limitsRedis.quit();
      logger.info("worker stopped");
      process.exit(0);
    } catch (err) {
      logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        "error during shutdown",
      );
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

await main();
