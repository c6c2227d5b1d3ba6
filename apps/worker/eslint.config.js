import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "worker", tsconfigRootDir: import.meta.dirname });
