import { createCallerFactory, createTRPCRouter } from "./trpc";
import { keysRouter } from "./routers/keys/_router";
import { meRouter } from "./routers/me/_router";
import { providersRouter } from "./routers/providers/_router";
import { usageRouter } from "./routers/usage/_router";

export const appRouter = createTRPCRouter({
  usage: usageRouter,
  keys: keysRouter,
  me: meRouter,
  providers: providersRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller (tests, server components): `createCaller(await createContextForUser(db, user))`. */
export const createCaller = createCallerFactory(appRouter);
