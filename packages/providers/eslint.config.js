import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "providers", pure: true, tsconfigRootDir: import.meta.dirname });
