import { createTRPCRouter } from "../../trpc";
import { alertsList } from "./list";

export const alertsRouter = createTRPCRouter({
  list: alertsList,
});
