export * from "./cost";
export * from "./prices";
export * from "./capabilities";
