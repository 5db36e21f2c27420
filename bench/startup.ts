// CLI start-up benchmark: wall time of short `kairos` commands, each in a fresh process, against a bare `node -e ""`.
//
//   npm run build && npx tsx bench/startup.ts [--runs 5] [--bin bin/kairos.js] [--bin OTHER/bin/kairos.js ...]
//
// Cases run interleaved (one run of each, then the next round), so that the machine's load touches them alike:
// `node -e ""` (the reference: Node's own start), `kairos --version`, `kairos --help`, `kairos score --help` (loads the
// score registry for its option list) and `kairos sql "SELECT 42"` on an empty store (opens DuckDB). Each --bin adds
// a build, e.g. an older commit's (`git archive COMMIT | tar -x -C DIR`, link node_modules, build there), whose runs
// are interleaved with the others'. Besides wall time, each child reports its CPU time (user + system, all threads)
// as it exits: on a busy machine that figure moves less than wall time.
// Results go to stdout and bench/out/startup-results.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { Store } from '../src/store/db.js';
import { median, options, sec } from './machine.js';

const OUT = resolve('bench/out');

const runs = Number(options('--runs')[0] ?? '5');
const given = options('--bin');
const bins = (given.length ? given : ['bin/kairos.js']).map((b) => resolve(b));
mkdirSync(OUT, { recursive: true });
const db = resolve(OUT, 'startup.duckdb');
rmSync(db, { force: true });
(await Store.open(db)).close();

const label = (bin: string): string => (bins.length > 1 ? ` (${bin})` : '');
const cases: readonly { name: string; args: readonly string[] }[] = [
  { name: 'node -e ""', args: ['-e', ''] },
  ...bins.flatMap((bin) => [
    { name: `kairos --version${label(bin)}`, args: [bin, '--version'] },
    { name: `kairos --help${label(bin)}`, args: [bin, '--help'] },
    { name: `kairos score --help${label(bin)}`, args: [bin, 'score', '--help'] },
    { name: `kairos sql "SELECT 42"${label(bin)}`, args: [bin, '--db', db, 'sql', 'SELECT 42'] },
  ]),
];

/** Loaded before the command in each child: prints the process's CPU time on stderr as it exits. */
const REPORT_CPU = `data:text/javascript,process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\ncpu-us ' + (u.user + u.system)); })`;

const seconds = new Map(cases.map((c) => [c.name, [] as number[]]));
const cpu = new Map(cases.map((c) => [c.name, [] as number[]]));
const loads: number[] = [];
for (let r = 0; r < runs; r++) {
  loads.push(loadavg()[0] ?? 0);
  for (const c of cases) {
    const started = performance.now();
    const p = spawnSync(process.execPath, ['--import', REPORT_CPU, ...c.args], { encoding: 'utf8' });
    const s = (performance.now() - started) / 1000;
    if (p.status !== 0) throw new Error(`${c.name} failed (${p.status}):\n${p.stderr}`);
    seconds.get(c.name)?.push(s);
    cpu.get(c.name)?.push(Number(/cpu-us (\d+)/.exec(p.stderr)?.[1]) / 1e6);
  }
}

const reference = median(seconds.get('node -e ""') ?? []);
const results = cases.map((c) => {
  const all = seconds.get(c.name) ?? [];
  const cpuMedian = median(cpu.get(c.name) ?? []);
  return { case: c.name, runs: all.map((s) => Number(sec(s))), median: Number(sec(median(all))), overNode: Number(sec(median(all) - reference)), cpuMedian: Number(sec(cpuMedian)) };
});
console.log(`${bins.join(', ')}; ${runs} runs; 1-minute load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`);
console.log('| command | runs (s) | median | median - node -e "" | CPU s (median) |');
console.log('|---|---|---|---|---|');
for (const r of results) console.log(`| \`${r.case}\` | ${r.runs.map(sec).join(', ')} | **${sec(r.median)} s** | ${sec(r.overNode)} s | ${sec(r.cpuMedian)} |`);
writeFileSync(resolve(OUT, 'startup-results.json'), JSON.stringify({ bins, runs, loads, results }, null, 2));
rmSync(db, { force: true });
