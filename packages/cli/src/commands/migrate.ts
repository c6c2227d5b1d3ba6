import { migrateDeploy } from "@switchyard/db";
import type { CommandContext, CommandResult } from "../context";

/** `switchyard migrate`: applies the committed migrations. */
export async function migrateCommand(ctx: CommandContext): Promise<CommandResult> {
  const r = await migrateDeploy(ctx.env.DATABASE_URL);
  return {
    json: { applied: r.applied, total: r.total },
    text:
      r.applied.length === 0
        ? `Database is up to date (${r.total} migrations).`
        : `Applied ${r.applied.length} migration(s):\n${r.applied.map((m) => `  ${m}`).join("\n")}`,
  };
}
