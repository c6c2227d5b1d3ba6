import { createTRPCRouter } from "../../trpc";
import { keysList } from "./list";

export const keysRouter = createTRPCRouter({
  list: keysList,
});
