export * from "./connection";
export * from "./queues";
export * from "./config-changed";
