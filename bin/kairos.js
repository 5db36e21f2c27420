#!/usr/bin/env node
// Entry point of the `kairos` command: runs the compiled CLI (built by `npm ci` through `prepare`).
import { run } from '../dist/cli/main.js';

process.exitCode = await run(process.argv.slice(2));
