import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import { getEnv } from "../env";

// One client per process; kept on globalThis so `next dev` reloads do not leak pools.
const holder = globalThis as unknown as { switchyardPrisma?: PrismaClient };

export function getDb(): PrismaClient {
  holder.switchyardPrisma ??= createPrismaClient(getEnv().DATABASE_URL);
  return holder.switchyardPrisma;
}
