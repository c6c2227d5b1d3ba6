// Library surface of the CLI, for scripts and tests that want the same behaviour
// without spawning a process.
export { applyConfig, type ApplySummary, type ChangeCounts } from "./commands/config-apply";
export { createVirtualKey, parseUsdToNano, type CreatedKey } from "./commands/keys";
export { setCredentialPassword, generatePassword, parseRole } from "./commands/users";
export { DEMO } from "./commands/seed";
