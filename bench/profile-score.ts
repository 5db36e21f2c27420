// Profiles one `kairos score` run statement by statement, as the command runs it (switchable store, the CLI's default
// memory limit, default configuration), on a copy of a store: each SQL statement's wall and CPU time, slowest first,
// and the stages from the run's progress messages.
//
// `npx tsx bench/profile-score.ts STORE [--memory-limit 256MB] [--top 20]`, e.g. a store made by
// `node bin/kairos.js ingest orders bench/out/purchases-1000000-seed42.csv --preset cdnow --db /tmp/p1m/k.duckdb`.
import { copyFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_MEMORY_LIMIT } from '../src/cli/io.js';
import { DEFAULT_CONFIG } from '../src/config.js';
import { runScores } from '../src/scores/run.js';
import { Store } from '../src/store/db.js';
import { option } from './machine.js';
import { timeStatements } from './profile-ingest.js';

const source = process.argv.slice(2).find((a) => !a.startsWith('--') && !/^\d/.test(a));
if (!source) throw new Error('usage: npx tsx bench/profile-score.ts STORE [--memory-limit 256MB] [--top 20]');
const memoryLimit = option('--memory-limit', DEFAULT_MEMORY_LIMIT);
const top = Number(option('--top', '20'));
const db = resolve('bench/out/profile-score.duckdb');
for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
copyFileSync(resolve(source), db);

const started = performance.now();
const stamp = (): string => `[${((performance.now() - started) / 1000).toFixed(2)}s]`;
const store = await Store.open(db, { mustExist: true, switchable: true, memoryLimit });
const opened = performance.now();
const timings = timeStatements();
const summary = await runScores(store, { config: structuredClone(DEFAULT_CONFIG), onProgress: (m) => console.log(`${stamp()} ${m}`) });
const ran = performance.now();
store.close();
const closed = performance.now();
const cpu = process.cpuUsage();
console.log(
  `open ${((opened - started) / 1000).toFixed(2)} s, run ${((ran - opened) / 1000).toFixed(2)} s, close ${((closed - ran) / 1000).toFixed(2)} s; ` +
    `${summary.customers} customers; process cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, load ${loadavg()[0]?.toFixed(1)}`,
);
for (const t of [...timings].sort((a, b) => b.ms - a.ms).slice(0, top)) {
  console.log(`${(t.ms / 1000).toFixed(2).padStart(7)} s  cpu ${t.cpu.toFixed(2).padStart(6)} s  ${t.maxRssMb.toFixed(0).padStart(5)} MB  ${t.sql.slice(0, 130)}`);
}
