import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "e2e", tsconfigRootDir: import.meta.dirname, envFiles: ["src/**"] });
