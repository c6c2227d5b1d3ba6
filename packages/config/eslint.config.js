import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "config", tsconfigRootDir: import.meta.dirname });
