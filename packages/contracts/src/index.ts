export * from "./chat";
export * from "./usage";
export * from "./queues";
export * from "./config-file";
export * from "./errors";
export * from "./keys";
export * from "./log-line";
