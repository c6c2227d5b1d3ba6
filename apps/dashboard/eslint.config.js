import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "dashboard", tsconfigRootDir: import.meta.dirname });
