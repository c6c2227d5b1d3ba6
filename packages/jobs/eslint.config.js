import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "jobs", tsconfigRootDir: import.meta.dirname });
