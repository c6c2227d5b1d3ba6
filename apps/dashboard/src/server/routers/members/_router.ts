import { createTRPCRouter } from "../../trpc";
import { membersListOrg } from "./list-org";
import { membersListTeam } from "./list-team";
import { membersRemove } from "./remove";
import { membersSetRole } from "./set-role";

export const membersRouter = createTRPCRouter({
  listTeam: membersListTeam,
  listOrg: membersListOrg,
  setRole: membersSetRole,
  remove: membersRemove,
});
