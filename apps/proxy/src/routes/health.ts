import type { ServerResponse } from "node:http";
import type { RequestContext } from "../context";
import { sendJson } from "../http";
import type { ProxyMetrics } from "../metrics";

/** Liveness: the process answers. */
export function handleHealthz(res: ServerResponse, ctx: RequestContext): void {
  ctx.status = 200;
  sendJson(res, 200, { status: "ok" });
}

/** Readiness: a snapshot is loaded and Redis answers; 503 otherwise (take me out of rotation). */
export async function handleReadyz(
  res: ServerResponse,
  ctx: RequestContext,
  checks: { snapshotLoaded: () => boolean; redisReachable: () => Promise<boolean> },
): Promise<void> {
  const snapshot = checks.snapshotLoaded();
  const redis = await checks.redisReachable();
  ctx.status = snapshot && redis ? 200 : 503;
  sendJson(res, ctx.status, { status: ctx.status === 200 ? "ready" : "not_ready", checks: { snapshot, redis } });
}

export function handleMetrics(res: ServerResponse, ctx: RequestContext, metrics: ProxyMetrics): void {
  const text = metrics.render();
  ctx.status = 200;
  res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
