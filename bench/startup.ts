// CLI start-up benchmark: wall time of short `kairos` commands, each in a fresh process, against a bare `node -e ""`.
//
//   npm run build && npx tsx bench/startup.ts [--runs 5] [--bin bin/kairos.js]
//
// Cases run interleaved (one run of each, then the next round), so that the machine's load touches them alike:
// `node -e ""` (the reference: Node's own start), `kairos --version`, `kairos --help`, `kairos score --help` (loads the
// score registry for its option list) and `kairos sql "SELECT 42"` on an empty store (opens DuckDB). --bin runs
// another build, e.g. an older commit's (`git archive COMMIT | tar -x -C DIR`, link node_modules, build there).
// Results go to stdout and bench/out/startup-results.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Store } from '../src/store/db.js';
import { median, sec } from './machine.js';

const OUT = resolve('bench/out');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const runs = Number(option('--runs', '5'));
const bin = resolve(option('--bin', 'bin/kairos.js'));
mkdirSync(OUT, { recursive: true });
const db = resolve(OUT, 'startup.duckdb');
rmSync(db, { force: true });
(await Store.open(db)).close();

const cases: readonly { name: string; args: readonly string[] }[] = [
  { name: 'node -e ""', args: ['-e', ''] },
  { name: 'kairos --version', args: [bin, '--version'] },
  { name: 'kairos --help', args: [bin, '--help'] },
  { name: 'kairos score --help', args: [bin, 'score', '--help'] },
  { name: 'kairos sql "SELECT 42"', args: [bin, '--db', db, 'sql', 'SELECT 42'] },
];

const seconds = new Map(cases.map((c) => [c.name, [] as number[]]));
const loads: number[] = [];
for (let r = 0; r < runs; r++) {
  loads.push(loadavg()[0] ?? 0);
  for (const c of cases) {
    const started = performance.now();
    const p = spawnSync(process.execPath, c.args, { encoding: 'utf8' });
    const s = (performance.now() - started) / 1000;
    if (p.status !== 0) throw new Error(`${c.name} failed (${p.status}):\n${p.stderr}`);
    seconds.get(c.name)?.push(s);
  }
}

const reference = median(seconds.get('node -e ""') ?? []);
const results = cases.map((c) => {
  const all = seconds.get(c.name) ?? [];
  return { case: c.name, runs: all.map((s) => Number(sec(s))), median: Number(sec(median(all))), overNode: Number(sec(median(all) - reference)) };
});
console.log(`bin ${bin}; ${runs} runs; 1-minute load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
console.log('| command | runs (s) | median | median - node -e "" |');
console.log('|---|---|---|---|');
for (const r of results) console.log(`| \`${r.case}\` | ${r.runs.map(sec).join(', ')} | **${sec(r.median)} s** | ${sec(r.overNode)} s |`);
writeFileSync(resolve(OUT, 'startup-results.json'), JSON.stringify({ bin, runs, loads, results }, null, 2));
rmSync(db, { force: true });
