import { switchyard } from "@switchyard/eslint-config";
export default switchyard({ name: "tokenizer", pure: true, tsconfigRootDir: import.meta.dirname });
