import type { NextConfig } from "next";

const config: NextConfig = {
  // Workspace packages export TypeScript source; Next compiles them with the app.
  transpilePackages: [
    "@switchyard/config",
    "@switchyard/contracts",
    "@switchyard/db",
    "@switchyard/jobs",
    "@switchyard/pricing",
    "@switchyard/providers",
  ],
  // Type checking is its own task (`typecheck`, run by CI and turbo); the build only compiles.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
