import { createTRPCRouter } from "../../trpc";
import { pricesDeleteOverride } from "./delete-override";
import { pricesList } from "./list";
import { pricesSetOverride } from "./set-override";

export const pricesRouter = createTRPCRouter({
  list: pricesList,
  setOverride: pricesSetOverride,
  deleteOverride: pricesDeleteOverride,
});
