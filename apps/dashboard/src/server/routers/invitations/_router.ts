import { createTRPCRouter } from "../../trpc";
import { invitationsAccept } from "./accept";
import { invitationsAcceptNew } from "./accept-new";
import { invitationsCreate } from "./create";
import { invitationsListOrg } from "./list-org";
import { invitationsListTeam } from "./list-team";
import { invitationsLookup } from "./lookup";
import { invitationsResend } from "./resend";
import { invitationsRevoke } from "./revoke";

export const invitationsRouter = createTRPCRouter({
  create: invitationsCreate,
  listTeam: invitationsListTeam,
  listOrg: invitationsListOrg,
  revoke: invitationsRevoke,
  resend: invitationsResend,
  lookup: invitationsLookup,
  accept: invitationsAccept,
  acceptNew: invitationsAcceptNew,
});
