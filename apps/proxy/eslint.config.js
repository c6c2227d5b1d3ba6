import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "proxy", tsconfigRootDir: import.meta.dirname, envFiles: ["bench/**"] });
