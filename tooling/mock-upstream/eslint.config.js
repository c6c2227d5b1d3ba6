import { switchyard } from "@switchyard/eslint-config";
// Not in the package map: a dev tool that only tests, benchmarks and the demo use.
export default switchyard({ name: "mock-upstream", tsconfigRootDir: import.meta.dirname, envFiles: ["src/main.ts"] });
