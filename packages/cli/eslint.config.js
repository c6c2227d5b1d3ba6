import { switchyard } from "@switchyard/eslint-config";
export default switchyard({
  name: "cli",
  tsconfigRootDir: import.meta.dirname,
  ignores: ["bin/**", "examples/**"],
});
