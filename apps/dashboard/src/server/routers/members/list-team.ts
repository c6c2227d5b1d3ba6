import { z } from "zod";
import { teamProcedure } from "../../trpc";
import { memberRow, memberSelect, toMemberRow } from "./shared";

/** The members of one team (anyone who reads the team). */
export const membersListTeam = teamProcedure("read")
  .output(z.array(memberRow))
  .query(async ({ ctx }) => {
    const rows = await ctx.db.membership.findMany({
      where: { teamId: ctx.team.id },
      select: memberSelect,
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    return rows.map(toMemberRow);
  });
