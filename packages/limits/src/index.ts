export * from "./keys";
export { type LimitsRedis } from "./script";
export * from "./rate-limit";
export * from "./budget";
export * from "./period";
export * from "./health";
export * from "./request";
export * from "./maintenance";
export * from "./lease";
