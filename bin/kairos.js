#!/usr/bin/env node
// Entry point of the `kairos` command: runs the compiled CLI (built by `npm ci` through `prepare`). The allocator
// setting must be in the environment before DuckDB loads, hence the dynamic import after it (store/allocator.ts).
import { tuneAllocator } from '../dist/store/allocator.js';

tuneAllocator();
const { run } = await import('../dist/cli/main.js');
process.exitCode = await run(process.argv.slice(2));
