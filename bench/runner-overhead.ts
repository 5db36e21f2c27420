// The cost of running a scoring run in the server's worker (its SQL passed through the main thread, src/store/remote.ts) against runScores in-process.
//
//   npx tsx bench/runner-overhead.ts STORE [--scorers rfm,clv] [--repeat 3]
//
// On copies of STORE, interleaved: runScores on the store in this thread, then the same run as a job of the server's
// Runner (a worker thread, a second connection of the instance; after a first job that starts the worker, as in a
// server that has run once). Prints the seconds of each and the medians.
import { copyFileSync, rmSync } from 'node:fs';
import { DEFAULT_CONFIG } from '../src/config.js';
import { runScores } from '../src/scores/run.js';
import { Runner } from '../src/server/runner.js';
import { Store } from '../src/store/db.js';
import { option } from './machine.js';

const source = process.argv.slice(2).find((a) => !a.startsWith('--') && !/^[\d,a-z]+$/.test(a));
if (!source) throw new Error('usage: npx tsx bench/runner-overhead.ts STORE [--scorers rfm,clv] [--repeat 3]');
const scorers = option('--scorers', 'rfm,clv').split(',');
const repeat = Number(option('--repeat', '3'));
const copy = `${source}.overhead.duckdb`;

async function fresh(): Promise<Store> {
  for (const f of [copy, `${copy}.wal`, `${copy}.run.lock`]) rmSync(f, { force: true });
  copyFileSync(source as string, copy);
  return Store.open(copy);
}

const inProcess: number[] = [];
const inWorker: number[] = [];
for (let r = 0; r < repeat; r++) {
  let store = await fresh();
  let t0 = performance.now();
  await runScores(store, { config: DEFAULT_CONFIG, scorers });
  inProcess.push((performance.now() - t0) / 1000);
  store.close();
  store = await fresh();
  const runner = new Runner(store, (fn) => fn(store), DEFAULT_CONFIG);
  // A first job starts the worker (its modules load once per server: through tsx here); the second is measured.
  await runner.start({ kind: 'score', scorers: ['rfm'] }, 'bench');
  await runner.idle();
  t0 = performance.now();
  const job = await runner.start({ kind: 'score', scorers }, 'bench');
  const startedAfter = (performance.now() - t0) / 1000;
  await runner.idle();
  inWorker.push((performance.now() - t0) / 1000);
  console.log(`  (the worker's run had its id after ${startedAfter.toFixed(2)} s)`);
  const ended = runner.job(job.jobId);
  if (ended?.status !== 'completed') throw new Error(`the job failed: ${JSON.stringify(ended?.error)}`);
  await runner.stop();
  store.close();
  console.log(`round ${r + 1}: in-process ${inProcess.at(-1)?.toFixed(2)} s, in the worker ${inWorker.at(-1)?.toFixed(2)} s`);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
console.log(`medians of ${repeat} (${scorers.join(',')}): in-process ${median(inProcess).toFixed(2)} s, in the worker ${median(inWorker).toFixed(2)} s`);
for (const f of [copy, `${copy}.wal`]) rmSync(f, { force: true });
