import { createPrismaClient, type PrismaClient } from "@switchyard/db";
import type { CliEnv } from "@switchyard/config";

/** What every command gets: the parsed env, a lazily opened database, and a place for warnings. */
export class CommandContext {
  private client: PrismaClient | undefined;
  readonly warnings: string[] = [];

  constructor(readonly env: CliEnv) {}

  get prisma(): PrismaClient {
    // Small pool: one short-lived process, a handful of queries.
    this.client ??= createPrismaClient(this.env.DATABASE_URL, { max: 2 });
    return this.client;
  }

  /** Warnings go to stderr (stdout belongs to the result) and into the JSON result. */
  warn(message: string): void {
    this.warnings.push(message);
    process.stderr.write(`warning: ${message}\n`);
  }

  async close(): Promise<void> {
    await this.client?.$disconnect();
  }
}

/** A command's outcome: the JSON document for --json, and the text for people. */
export interface CommandResult {
  json: Record<string, unknown>;
  text: string;
}
