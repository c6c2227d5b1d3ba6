import { createTRPCRouter } from "../../trpc";
import { budgetsCreateForOrg, budgetsCreateForTeam } from "./create";
import { budgetsDelete } from "./delete";
import { budgetsList } from "./list";
import { budgetsUpdate } from "./update";

export const budgetsRouter = createTRPCRouter({
  list: budgetsList,
  createForOrg: budgetsCreateForOrg,
  createForTeam: budgetsCreateForTeam,
  update: budgetsUpdate,
  delete: budgetsDelete,
});
