import { createTRPCRouter } from "../../trpc";
import { meGet } from "./get";

export const meRouter = createTRPCRouter({
  get: meGet,
});
