import { createTRPCRouter } from "../../trpc";
import { orgsGet } from "./get";
import { orgsList } from "./list";
import { orgsUpdate } from "./update";

export const orgsRouter = createTRPCRouter({
  list: orgsList,
  get: orgsGet,
  update: orgsUpdate,
});
