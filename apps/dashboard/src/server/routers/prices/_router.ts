import { createTRPCRouter } from "../../trpc";
import { pricesCreateModel, pricesDeleteModel } from "./custom-models";
import { pricesDeleteOverride } from "./delete-override";
import { pricesList } from "./list";
import { pricesSetOverride } from "./set-override";

export const pricesRouter = createTRPCRouter({
  list: pricesList,
  setOverride: pricesSetOverride,
  deleteOverride: pricesDeleteOverride,
  createModel: pricesCreateModel,
  deleteModel: pricesDeleteModel,
});
