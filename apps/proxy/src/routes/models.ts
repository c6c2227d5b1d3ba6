import type { IncomingMessage, ServerResponse } from "node:http";
import { AppError } from "@switchyard/contracts";
import { authenticate, isModelAllowed } from "../auth";
import type { RequestContext, RouteDeps } from "../context";
import { sendJson } from "../http";
import { resolveModel } from "../snapshot";

/** OpenAI's model list: the models and route aliases this key may call. */
export function handleListModels(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, deps: RouteDeps): void {
  const snapshot = deps.getSnapshot();
  if (!snapshot) throw new AppError("upstream_unavailable", "The gateway is starting; its configuration is not loaded yet.");
  const key = authenticate(snapshot, req.headers);
  ctx.key = key;
  const data: { id: string; object: "model"; created: number; owned_by: string }[] = [];
  for (const m of snapshot.models.values()) {
    if (isModelAllowed(key, m.name)) data.push({ id: m.name, object: "model", created: Math.floor(m.createdAt.getTime() / 1000), owned_by: m.provider.slug });
  }
  for (const r of snapshot.routes.values()) {
    // An alias that clashes with a model name, or whose targets are all gone, is not callable.
    if (snapshot.models.has(r.alias) || !resolveModel(snapshot, r.alias)) continue;
    if (isModelAllowed(key, r.alias)) data.push({ id: r.alias, object: "model", created: Math.floor(r.createdAt.getTime() / 1000), owned_by: "switchyard" });
  }
  data.sort((a, b) => a.id.localeCompare(b.id));
  ctx.status = 200;
  sendJson(res, 200, { object: "list", data });
}
