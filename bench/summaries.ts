// The per-run summaries (src/history/summaries.ts) on a scored store: the time to summarise the latest run of each
// scores table, as a run does when it publishes.
//
//   npx tsx bench/summaries.ts --db STORE.duckdb      (a copy is summarised: the store is left as it was)
//
// Use a store scored by `kairos score` (bench/user-path.ts leaves 1M-customer ones). Prints one line per table.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { summariseScores } from '../src/history/summaries.js';
import { Store } from '../src/store/db.js';
import { option } from './machine.js';

const source = option('--db', '');
if (!source) throw new Error('give --db STORE.duckdb');
const dir = mkdtempSync(join(tmpdir(), 'kairos-summaries-'));
const copy = join(dir, 'k.duckdb');
copyFileSync(source, copy);
const store = await Store.open(copy);
try {
  const tables = await store.all<{ t: string }>(`SELECT table_name AS t FROM duckdb_tables() WHERE regexp_matches(table_name, '^scores_[a-z0-9_]+$') ORDER BY 1`);
  let total = 0;
  console.log(`load average ${(loadavg()[0] ?? 0).toFixed(1)}`);
  for (const { t } of tables) {
    const run = await store.value<number | null>(`SELECT max(run_id) FROM ${t}`);
    if (run === null) continue;
    const rows = Number(await store.value(`SELECT count(*) FROM ${t} WHERE run_id = ?`, [run]));
    const t0 = performance.now();
    const n = await summariseScores(store, Number(run), t);
    const s = (performance.now() - t0) / 1000;
    total += s;
    console.log(`${t}: run ${run}, ${rows.toLocaleString('en')} rows, ${n} columns summarised in ${s.toFixed(2)} s`);
  }
  console.log(`total ${total.toFixed(2)} s`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
