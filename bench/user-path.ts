// The user's path, timed as the user runs it: `kairos ingest orders FILE --preset cdnow`, then `kairos score`, each a
// separate process with default options (auto model choice, every registered scorer, history written), on simulated
// purchase logs of the reference's shape (../shared/peers/README.md, "End to end on simulated logs").
//
//   npm run build && npx tsx bench/user-path.ts [--sizes 100000,1000000] [--runs 3] [--bin bin/kairos.js] [--bin OTHER ...]
//
// Several --bin (e.g. an older commit's build: `git archive COMMIT | tar -x -C DIR`, link node_modules, build there)
// run interleaved, one run of each in turn, so that the machine's load touches them alike.
// Each run starts from no store. Wall time and peak RSS are the child's own (a preload prints its CPU time and
// process.resourceUsage().maxRSS, DuckDB's native memory included, as it exits); the stages are the command's
// --progress lines (`[12.3s] message`), each stage lasting until the next line. Before each run, a fresh child times
// DuckDB's own `SELECT count(*) FROM read_csv(FILE)` on the same file: the same-session reference, so that figures taken
// on a busy machine can be compared through their ratio to it. The reference implementation's figures (lifetimes, not
// installable here) are the recorded ones in ../shared/peers/README.md, plus the 1M figure issue #9 measured.
// Results go to stdout and bench/out/user-path-results.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { machine, median, option, options, referenceSeconds, sec } from './machine.js';
import { purchaseLog } from './purchase-log.js';

const OUT = resolve('bench/out');

/** lifetimes end to end (read CSV -> summary -> BG/NBD + GG fits -> P(alive), 90-day purchases, 12-month CLV -> write). */
const REFERENCE: Readonly<Record<number, { seconds: number; rssMb: number; source: string }>> = {
  10_000: { seconds: 0.46, rssMb: 120, source: '../shared/peers/README.md' },
  100_000: { seconds: 3.5, rssMb: 181, source: '../shared/peers/README.md' },
  1_000_000: { seconds: 37.9, rssMb: 813, source: '../shared/peers/README.md (issue #9 measured 29.8 s in its own session)' },
};

/** Loaded before the command in each child: prints CPU time and peak RSS on stderr as it exits. */
const REPORT = `data:text/javascript,process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\n@@usage ' + (u.user + u.system) + ' ' + process.resourceUsage().maxRSS + '\\n'); })`;

interface Stage {
  readonly message: string;
  readonly seconds: number;
}

interface CommandRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMb: number;
  readonly stages: readonly Stage[];
  readonly json: unknown;
}

/** Builds older than --progress print no stages (their progress goes to a terminal only). */
const hasProgress = new Map<string, boolean>();

/** Runs `kairos ARGS` as its own process; its stages from the --progress lines. */
function kairos(bin: string, args: readonly string[]): CommandRun {
  if (!hasProgress.has(bin)) hasProgress.set(bin, spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' }).stdout.includes('--progress'));
  const flags = hasProgress.get(bin) ? ['--progress', ...args] : args;
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', REPORT, bin, ...flags], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`kairos ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  const usage = /@@usage (\d+) (\d+)/.exec(r.stderr);
  const marks = [...r.stderr.matchAll(/^ {2}\[(\d+\.\d)s\] (.*)$/gm)].map((m) => ({ at: Number(m[1]), message: m[2] ?? '' }));
  const stages = marks.map((m, i) => ({ message: m.message, seconds: (marks[i + 1]?.at ?? seconds) - m.at }));
  if (marks.length > 0) stages.unshift({ message: '(start-up, store open)', seconds: marks[0]?.at ?? 0 });
  return { seconds, cpuSeconds: Number(usage?.[1] ?? 0) / 1e6, maxRssMb: Number(usage?.[2] ?? 0) / 1024, stages, json: JSON.parse(r.stdout) };
}

interface PathRun {
  readonly referenceSeconds: number;
  readonly ingest: CommandRun;
  readonly score: CommandRun;
  readonly load: number;
}

/** The summary of one build's runs on one size, printed as a Markdown table with the stages of its median run. */
function report(bin: string, customers: number, purchases: number, all: readonly PathRun[]) {
  const total = all.map((x) => x.ingest.seconds + x.score.seconds);
  const ref = REFERENCE[customers];
  const summary = {
    bin,
    customers,
    purchases,
    runs: all,
    medianIngest: median(all.map((x) => x.ingest.seconds)),
    medianScore: median(all.map((x) => x.score.seconds)),
    medianTotal: median(total),
    medianCpu: median(all.map((x) => x.ingest.cpuSeconds + x.score.cpuSeconds)),
    peakRssIngestMb: Math.max(...all.map((x) => x.ingest.maxRssMb)),
    peakRssScoreMb: Math.max(...all.map((x) => x.score.maxRssMb)),
    medianDuckdbCount: median(all.map((x) => x.referenceSeconds)),
    reference: ref ?? null,
    speedup: ref ? ref.seconds / median(total) : null,
  };
  console.log(`\n${bin}: ${customers.toLocaleString('en')} customers (${purchases.toLocaleString('en')} lines), ${runs} runs, load ${all.map((x) => x.load.toFixed(1)).join(', ')}`);
  console.log('| step | runs (s) | median | peak RSS (max) |');
  console.log('|---|---|---|---|');
  console.log(`| \`kairos ingest orders\` | ${all.map((x) => sec(x.ingest.seconds)).join(', ')} | ${sec(summary.medianIngest)} s | ${Math.round(summary.peakRssIngestMb)} MB |`);
  console.log(`| \`kairos score\` | ${all.map((x) => sec(x.score.seconds)).join(', ')} | ${sec(summary.medianScore)} s | ${Math.round(summary.peakRssScoreMb)} MB |`);
  console.log(`| **ingest + score** | ${total.map(sec).join(', ')} | **${sec(summary.medianTotal)} s** (CPU ${sec(summary.medianCpu)} s) | |`);
  if (ref) console.log(`| reference (${ref.source}) | | ${sec(ref.seconds)} s: Kairos ${summary.speedup?.toFixed(2)}x | ${ref.rssMb} MB |`);
  console.log(`| DuckDB \`count(*)\` of the file (same-session reference) | ${all.map((x) => sec(x.referenceSeconds)).join(', ')} | ${sec(summary.medianDuckdbCount)} s | |`);
  const middle = all.map((x, i) => ({ x, t: total[i] as number })).sort((a, b) => a.t - b.t)[Math.floor(all.length / 2)]?.x;
  if (middle) {
    console.log('\nstages of the median run:');
    for (const [name, run] of [['ingest', middle.ingest], ['score', middle.score]] as const) {
      for (const s of run.stages) console.log(`  ${name}: ${sec(s.seconds).padStart(6)} s  ${s.message}`);
    }
  }
  return summary;
}

const sizes = option('--sizes', '100000,1000000').split(',').map(Number);
const runs = Number(option('--runs', '3'));
const given = options('--bin');
const bins = (given.length > 0 ? given : ['bin/kairos.js']).map((b) => resolve(b));
mkdirSync(OUT, { recursive: true });
const env = await machine();
console.log(`${env.cpu}, ${env.nproc} cores, ${env.memoryGb} GB; Node ${env.node}; DuckDB ${env.duckdb}; ${bins.join(', ')}`);
const results = [];
for (const customers of sizes) {
  const { csv, purchases } = purchaseLog(OUT, customers, 42);
  const db = resolve(OUT, `user-path-${customers}.duckdb`);
  const byBin = new Map<string, PathRun[]>(bins.map((b) => [b, []]));
  for (let r = 0; r < runs; r++) {
    for (const bin of bins) {
      const all = byBin.get(bin) as PathRun[];
      for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
      rmSync(resolve(OUT, 'kairos-rejects'), { recursive: true, force: true });
      const load = loadavg()[0] ?? 0;
      const reference = await referenceSeconds(`SELECT count(*) FROM read_csv('${csv.replaceAll("'", "''")}')`);
      const ingest = kairos(bin, ['--db', db, '--json', 'ingest', 'orders', csv, '--preset', 'cdnow', '--rejects-dir', resolve(OUT, 'kairos-rejects')]);
      const score = kairos(bin, ['--db', db, '--json', 'score']);
      const loaded = (ingest.json as { totals: { loaded: number } }).totals.loaded;
      const scored = (score.json as { customers: number }).customers;
      if (loaded !== purchases || scored !== customers) throw new Error(`run ${r}: loaded ${loaded} of ${purchases} lines, scored ${scored} of ${customers} customers`);
      all.push({ referenceSeconds: reference, ingest, score, load });
      console.log(
        `${customers.toLocaleString('en')} customers, ${bin}, run ${r + 1}: ingest ${sec(ingest.seconds)} s (${Math.round(ingest.maxRssMb)} MB), score ${sec(score.seconds)} s ` +
          `(${Math.round(score.maxRssMb)} MB), total ${sec(ingest.seconds + score.seconds)} s; DuckDB count ${sec(reference)} s; load ${load.toFixed(1)}`,
      );
    }
  }
  for (const [bin, all] of byBin) results.push(report(bin, customers, purchases, all));
  for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
}
writeFileSync(resolve(OUT, 'user-path-results.json'), JSON.stringify({ machine: env, bins, results }, null, 1));
