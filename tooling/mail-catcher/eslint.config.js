import { switchyard } from "@switchyard/eslint-config";
// Not in the package map: a dev tool that only tests and the demo use.
export default switchyard({ name: "mail-catcher", tsconfigRootDir: import.meta.dirname, envFiles: ["src/main.ts"] });
