import { createCallerFactory, createTRPCRouter } from "./trpc";
import { alertsRouter } from "./routers/alerts/_router";
import { budgetsRouter } from "./routers/budgets/_router";
import { healthRouter } from "./routers/health/_router";
import { invitationsRouter } from "./routers/invitations/_router";
import { keysRouter } from "./routers/keys/_router";
import { meRouter } from "./routers/me/_router";
import { membersRouter } from "./routers/members/_router";
import { modelsRouter } from "./routers/models/_router";
import { orgsRouter } from "./routers/orgs/_router";
import { pricesRouter } from "./routers/prices/_router";
import { providersRouter } from "./routers/providers/_router";
import { routesRouter } from "./routers/routes/_router";
import { teamsRouter } from "./routers/teams/_router";
import { usageRouter } from "./routers/usage/_router";

export const appRouter = createTRPCRouter({
  usage: usageRouter,
  keys: keysRouter,
  me: meRouter,
  providers: providersRouter,
  teams: teamsRouter,
  members: membersRouter,
  invitations: invitationsRouter,
  orgs: orgsRouter,
  budgets: budgetsRouter,
  alerts: alertsRouter,
  prices: pricesRouter,
  routes: routesRouter,
  models: modelsRouter,
  health: healthRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller (tests, server components): `createCaller(await createContextForUser(db, user))`. */
export const createCaller = createCallerFactory(appRouter);
