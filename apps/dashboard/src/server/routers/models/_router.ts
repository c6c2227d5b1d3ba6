import { createTRPCRouter } from "../../trpc";
import { modelsList } from "./list";
import { modelsSetCapabilities } from "./set-capabilities";

export const modelsRouter = createTRPCRouter({
  list: modelsList,
  setCapabilities: modelsSetCapabilities,
});
