#!/usr/bin/env node
// The `grapevine` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (run automatically by `npm install` in a checkout, and before packing).
import { main } from "../dist/cli/grapevine.js";

process.exitCode = await main(process.argv.slice(2));
