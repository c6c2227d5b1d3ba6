export * from "./client";
export * from "./secrets";
export * from "./migrate";
export { Prisma, Role, BudgetScope, BudgetPeriod, ConfigSource } from "./generated/prisma/client";
export type * from "./generated/prisma/client";
