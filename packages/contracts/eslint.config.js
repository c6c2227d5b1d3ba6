import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "contracts", pure: true, tsconfigRootDir: import.meta.dirname });
