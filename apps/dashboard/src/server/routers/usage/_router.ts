import { createTRPCRouter } from "../../trpc";
import { usageOverview } from "./overview";
import { usageRequests } from "./requests";

export const usageRouter = createTRPCRouter({
  overview: usageOverview,
  requests: usageRequests,
});
