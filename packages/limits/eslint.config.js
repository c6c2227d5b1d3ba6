import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "limits", tsconfigRootDir: import.meta.dirname });
