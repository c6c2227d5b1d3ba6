import { publishConfigChanged as publish } from "@switchyard/jobs";
import type { CommandContext } from "./context";

/** Tells running proxies to reload; a Redis outage only warns (the write is done). */
export function publishConfigChanged(ctx: CommandContext, kind: "config" | "keys"): Promise<boolean> {
  return publish(ctx.env.REDIS_URL, { kind, source: "cli" }, (m) => ctx.warn(m));
}
