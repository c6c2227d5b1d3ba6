import { createTRPCRouter } from "../../trpc";
import { routesCreate } from "./create";
import { routesDelete } from "./delete";
import { routesList } from "./list";
import { routesUpdate } from "./update";

export const routesRouter = createTRPCRouter({
  list: routesList,
  create: routesCreate,
  update: routesUpdate,
  delete: routesDelete,
});
