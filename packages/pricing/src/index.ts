export * from "./cost";
export * from "./prices";
