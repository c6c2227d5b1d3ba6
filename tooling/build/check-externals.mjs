// Apps bundle our workspace packages (TypeScript sources) but leave npm packages
// external, so every npm package a bundled workspace package imports must also be a
// dependency of the app, or the built app dies at start with ERR_MODULE_NOT_FOUND.
// Run after the bundle is written: it resolves every bare import of the bundle from
// the app's own folder and fails the build naming what is missing.
import { readFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import path from "node:path";

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The package name of a bare specifier: "a/b" → "a", "@s/a/b" → "@s/a". */
function packageName(spec) {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

export function checkExternals(appDir, bundle = "dist/main.js") {
  const code = readFileSync(path.join(appDir, bundle), "utf8");
  const specs = new Set();
  const patterns = [/\bfrom\s*["']([^"'./][^"']*)["']/g, /\bimport\s*\(\s*["']([^"'./][^"']*)["']\s*\)/g, /\bimport\s*["']([^"'./][^"']*)["']/g, /\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) specs.add(m[1]);
  const require = createRequire(path.join(appDir, "package.json"));
  const pkg = JSON.parse(readFileSync(path.join(appDir, "package.json"), "utf8"));
  const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }));
  const missing = [];
  for (const spec of specs) {
    if (builtins.has(spec) || builtins.has(spec.split("/")[0])) continue;
    const name = packageName(spec);
    if (!declared.has(name)) {
      missing.push(`${name} (not in ${pkg.name}'s dependencies)`);
      continue;
    }
    try {
      require.resolve(`${name}/package.json`);
    } catch {
      try {
        require.resolve(spec);
      } catch {
        missing.push(`${spec} (does not resolve from ${appDir})`);
      }
    }
  }
  if (missing.length > 0) {
    throw new Error(`${bundle} imports npm packages the app does not depend on:\n  ${[...new Set(missing)].join("\n  ")}\nAdd them to ${pkg.name}'s dependencies.`);
  }
}
