import { createTRPCRouter } from "../../trpc";
import { keysCreate } from "./create";
import { keysCreateOptions } from "./create-options";
import { keysList } from "./list";
import { keysRevoke } from "./revoke";
import { keysRotate } from "./rotate";
import { keysTeams } from "./teams";
import { keysUpdate } from "./update";

export const keysRouter = createTRPCRouter({
  list: keysList,
  teams: keysTeams,
  createOptions: keysCreateOptions,
  create: keysCreate,
  update: keysUpdate,
  revoke: keysRevoke,
  rotate: keysRotate,
});
