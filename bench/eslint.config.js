import { switchyard } from "@switchyard/eslint-config";
// Not shipped: the benchmark processes set up their own children's environments.
export default switchyard({ name: "bench", tsconfigRootDir: import.meta.dirname, envFiles: ["src/run.ts", "src/switchyard.ts", "src/instructions.ts"] });
