// History on disk: how much each scoring run adds to the store file at 1,000,000 customers, and what compaction gives back.
//
//   npx tsx bench/history.ts [--runs 3] [--scorers rfm,clv] [--model auto]      # after bench/rfm.ts made its base store
//
// Copies bench/out/rfm-base-3500000-c1000000.duckdb (made by bench/rfm.ts: 1,000,000 customers, 3,500,000 order
// lines), then scores it --runs times, each a day later than the previous (every registered scorer by default, as
// `kairos score` does; --model sets scores.model), checkpointing after each run and printing the space the store
// uses (DuckDB's used blocks: the file itself only grows when no freed block is left). Then it compacts with
// --keep-days 0 (keeps one run per month: here the last) and prints the space again.
import { copyFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG } from '../src/config.js';
import { DEFAULT_REGISTRY } from '../src/scores/registry.js';
import { compactHistory } from '../src/scores/results.js';
import { runScores } from '../src/scores/run.js';
import { Store } from '../src/store/db.js';
import { machine, option } from './machine.js';

const runs = Number(option('--runs', '3'));
const scorers = option('--scorers', DEFAULT_REGISTRY.scorers.map((s) => s.name).join(',')).split(',');
const config = { ...DEFAULT_CONFIG, scores: { ...DEFAULT_CONFIG.scores, model: option('--model', DEFAULT_CONFIG.scores.model) as typeof DEFAULT_CONFIG.scores.model } };
const base = resolve('bench/out/rfm-base-3500000-c1000000.duckdb');
if (!existsSync(base)) throw new Error(`${base} is missing: run npx tsx bench/rfm.ts first`);
const db = resolve('bench/out/history.duckdb');
rmSync(db, { force: true });
rmSync(`${db}.wal`, { force: true });
copyFileSync(base, db);

console.log(`machine: ${JSON.stringify(await machine())}`);
const store = await Store.open(db);
const mb = async (): Promise<number> => {
  const r = await store.one<{ used: number; size: number }>('SELECT used_blocks AS used, block_size AS size FROM pragma_database_size()');
  return (Number(r?.used) * Number(r?.size)) / 2 ** 20;
};
try {
  await store.run('CHECKPOINT');
  const start = await mb();
  console.log(`store before any run: ${start.toFixed(1)} MB used`);
  const last = String(await store.value(`SELECT strftime(max(ordered_at)::DATE + 1, '%Y-%m-%d') FROM orders`));
  let previous = start;
  for (let k = 0; k < runs; k++) {
    const asOf = new Date(Date.parse(`${last}T00:00:00Z`) + k * 86_400_000).toISOString().slice(0, 10);
    const t0 = performance.now();
    const summary = await runScores(store, { config, asOf, scorers });
    await store.run('CHECKPOINT');
    const size = await mb();
    console.log(
      `run ${summary.runId} as of ${asOf} (${scorers.join(', ')}; ${summary.customers} customers): ${((performance.now() - t0) / 1000).toFixed(1)} s, store ${size.toFixed(1)} MB (+${(size - previous).toFixed(1)} MB, ${(((size - previous) * 2 ** 20) / summary.customers).toFixed(1)} bytes a customer)`,
    );
    previous = size;
  }
  const rows = Number(await store.value('SELECT count(*) FROM score_history'));
  console.log(`score_history: ${rows.toLocaleString('en-US')} rows (long view) over ${runs} runs`);
  const compacted = await compactHistory(store, DEFAULT_REGISTRY, 0);
  console.log(`compact --keep-days 0: removed runs ${compacted.removed.join(', ') || 'none'} (${compacted.rowsDeleted} rows); store ${(await mb()).toFixed(1)} MB, file ${(statSync(db).size / 2 ** 20).toFixed(1)} MB`);
} finally {
  store.close();
}
