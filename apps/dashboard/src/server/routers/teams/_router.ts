import { createTRPCRouter } from "../../trpc";
import { teamsCreate } from "./create";
import { teamsDelete } from "./delete";
import { teamsList } from "./list";
import { teamsUpdate } from "./update";

export const teamsRouter = createTRPCRouter({
  list: teamsList,
  create: teamsCreate,
  update: teamsUpdate,
  delete: teamsDelete,
});
