import { createTRPCRouter } from "../../trpc";
import { usageBreakdown, usageSavings, usageSummary, usageTagDimensions } from "./analytics";
import { usageOverview } from "./overview";
import { usageRequestDetail } from "./request-detail";
import { usageRequests } from "./requests";

export const usageRouter = createTRPCRouter({
  overview: usageOverview,
  summary: usageSummary,
  breakdown: usageBreakdown,
  tagDimensions: usageTagDimensions,
  savings: usageSavings,
  requests: usageRequests,
  request: usageRequestDetail,
});
