import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "db", tsconfigRootDir: import.meta.dirname, ignores: ["prisma/**"], envFiles: ["src/testing.ts"] });
