#!/usr/bin/env node
// The `strata` command runs the TypeScript sources directly (tsx), so it works right after `npm ci` with no build step.
require("tsx/cjs");
require("../src/main.ts");
