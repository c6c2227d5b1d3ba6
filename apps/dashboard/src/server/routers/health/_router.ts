import { createTRPCRouter } from "../../trpc";
import { healthList } from "./list";

export const healthRouter = createTRPCRouter({
  list: healthList,
});
