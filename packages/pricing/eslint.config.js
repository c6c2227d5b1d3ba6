import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "pricing", pure: true, tsconfigRootDir: import.meta.dirname });
