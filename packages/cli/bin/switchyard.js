#!/usr/bin/env node
// The CLI runs from its TypeScript sources (workspace packages are not prebuilt), so
// register tsx's loader, then start it.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
