// Crash safety of scoring runs: `kairos score` killed (SIGKILL) at many moments, its commits included; the store checked after each.
//
//   npm run build && npx tsx bench/kill-score.ts [--kills 40] [--customers 3000]
//
// Makes a demo store once (kairos demo: one completed run), then, for each kill, copies it, starts
// `node bin/kairos.js score` on the copy and kills it with SIGKILL either after a delay spread over a run's duration
// or when the store's write-ahead log first passes a size (the moment a transaction's commit is being written). Then
// it opens the store and checks the promise: customer_scores and score_history show only completed runs, each
// completed run has its rows, run ids only grow, and the next `kairos score` succeeds, marks the killed run failed
// and removes its rows. It prints each kill's outcome and the counts.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Store } from '../src/store/db.js';
import { option } from './machine.js';

const kills = Number(option('--kills', '40'));
const customers = option('--customers', '3000');
const dir = resolve('bench/out/kill');
const base = resolve(dir, 'base.duckdb');
const work = resolve(dir, 'work.duckdb');
const bin = resolve('bin/kairos.js');
if (!existsSync(resolve('dist/cli/main.js'))) throw new Error('dist/ is missing: run npm run build first');

mkdirSync(dir, { recursive: true });
if (!existsSync(base)) {
  const made = spawnSync('node', [bin, '--db', base, '--quiet', 'demo', '--customers', customers, '--data-dir', resolve(dir, 'demo-files')], { stdio: 'inherit' });
  if (made.status !== 0) throw new Error('kairos demo failed');
}

/** How long an unkilled `kairos score` takes on a copy: the range the delays are spread over. */
function timedRun(): number {
  copyFileSync(base, work);
  rmSync(`${work}.wal`, { force: true });
  const t0 = performance.now();
  const r = spawnSync('node', [bin, '--db', work, '--quiet', 'score'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kairos score failed: ${r.stderr}`);
  return performance.now() - t0;
}

type Trigger = { kind: 'delay'; ms: number } | { kind: 'wal'; bytes: number };

/** Starts `kairos score` on a fresh copy and kills it at the trigger; resolves how it ended. */
function killedRun(trigger: Trigger): Promise<{ exit: string; at: number }> {
  copyFileSync(base, work);
  rmSync(`${work}.wal`, { force: true });
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn('node', [bin, '--db', work, '--quiet', 'score'], { stdio: 'ignore' });
    let timer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      if (timer) clearInterval(timer);
      child.kill('SIGKILL');
    };
    if (trigger.kind === 'delay') timer = setTimeout(kill, trigger.ms);
    else {
      timer = setInterval(() => {
        try {
          if (statSync(`${work}.wal`).size >= trigger.bytes) kill();
        } catch {
          // no log yet
        }
      }, 1);
    }
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      done({ exit: signal ?? `exit ${code}`, at: performance.now() - t0 });
    });
  });
}

interface Check {
  readonly outcome: 'no new run' | 'completed' | 'interrupted, invisible' | 'VIOLATION';
  readonly detail: string;
}

/** The promise, checked on the store a kill left, then after the next run. */
async function check(): Promise<Check> {
  const problems: string[] = [];
  let store = await Store.open(work);
  let last: { run_id: number; status: string } | undefined;
  try {
    const runs = await store.all<{ run_id: number; status: string }>('SELECT run_id, status FROM score_runs ORDER BY run_id');
    last = runs.at(-1);
    const completed = new Set(runs.filter((r) => r.status === 'completed').map((r) => r.run_id));
    const shown = await store.all<{ run_id: number }>('SELECT DISTINCT run_id FROM customer_scores WHERE run_id IS NOT NULL');
    for (const r of shown) if (!completed.has(r.run_id)) problems.push(`customer_scores shows run ${r.run_id}`);
    const history = await store.all<{ run_id: number }>('SELECT DISTINCT run_id FROM score_history');
    for (const r of history) if (!completed.has(r.run_id)) problems.push(`score_history shows run ${r.run_id}`);
    for (const id of completed) {
      const rows = Number(await store.value('SELECT count(*) FROM scores_rfm WHERE run_id = ?', [id]));
      const expected = Number(await store.value('SELECT customers FROM score_runs WHERE run_id = ?', [id]));
      if (rows !== expected) problems.push(`completed run ${id} has ${rows} rfm rows for ${expected} customers`);
    }
  } finally {
    store.close();
  }
  // The next run must work, take a new id, mark the killed run failed and remove its rows.
  const next = spawnSync('node', [bin, '--db', work, '--quiet', '--json', 'score', '--scorer', 'rfm'], { encoding: 'utf8' });
  if (next.status !== 0) problems.push(`the next kairos score failed: ${next.stderr.trim() || next.stdout.trim()}`);
  else {
    const id = (JSON.parse(next.stdout) as { runId: number }).runId;
    if (last && id <= last.run_id) problems.push(`the next run reused id ${id}`);
    store = await Store.open(work);
    try {
      const running = Number(await store.value(`SELECT count(*) FROM score_runs WHERE status = 'running'`));
      if (running > 0) problems.push(`${running} run(s) still 'running' after the next run`);
      const orphans = Number(await store.value(`SELECT count(*) FROM scores_rfm WHERE run_id NOT IN (SELECT run_id FROM score_runs WHERE status = 'completed')`));
      if (orphans > 0) problems.push(`${orphans} rows of unfinished runs left after the next run`);
    } finally {
      store.close();
    }
  }
  if (problems.length) return { outcome: 'VIOLATION', detail: problems.join('; ') };
  if (!last || last.run_id === 1) return { outcome: 'no new run', detail: 'only the demo run' };
  return last.status === 'completed'
    ? { outcome: 'completed', detail: `run ${last.run_id} completed` }
    : { outcome: 'interrupted, invisible', detail: `run ${last.run_id} ${last.status}, no row shown` };
}

// The store is opened in this process only while no child runs (DuckDB lets one process write a file).
const duration = timedRun();
console.log(`an unkilled kairos score takes ${(duration / 1000).toFixed(2)} s here`);
const triggers: Trigger[] = [];
// Delays spread over twice an unkilled run (the machine's load stretches runs); log sizes from the first commit (the
// run's 'running' row) through the rows' commit (hundreds of KB at a few thousand customers) to the last one.
const walSizes = [1, 16_384, 65_536, 131_072, 262_144, 393_216, 524_288, 786_432];
const delays = Math.ceil(kills / 2);
for (let k = 0; k < kills; k++) {
  const j = k >> 1;
  triggers.push(k % 2 === 0 ? { kind: 'delay', ms: Math.round((0.3 + (1.7 * j) / Math.max(1, delays - 1)) * duration) } : { kind: 'wal', bytes: walSizes[j % walSizes.length] as number });
}
const counts = new Map<string, number>();
for (const [k, trigger] of triggers.entries()) {
  const killed = await killedRun(trigger);
  const result = await check();
  counts.set(result.outcome, (counts.get(result.outcome) ?? 0) + 1);
  const what = trigger.kind === 'delay' ? `after ${trigger.ms} ms` : `at WAL >= ${trigger.bytes} B`;
  console.log(`kill ${k + 1} ${what} (${killed.exit} at ${Math.round(killed.at)} ms): ${result.outcome}: ${result.detail}`);
}
console.log(`\n${kills} kills: ${[...counts].map(([o, n]) => `${n} ${o}`).join(', ')}`);
if (counts.has('VIOLATION')) process.exitCode = 1;
