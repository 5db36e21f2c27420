// Category affinity on real data (issue #11 item 3): the scorer's backtest on UCI Online Retail, the Complete Journey sample (department and commodity levels) and the demo, with fit and scoring times.
//
//   npx tsx bench/affinity.ts [--only online-retail,cj-department,cj-commodity,demo,cdnow] [--holdout 90d]
//
// Each data set is ingested into a scratch store; `kairos evaluate`'s affinity part runs on a split whose holdout is
// the last --holdout of the data (fit on the calibration, scored at the cut, graded on the holdout), then a full
// `kairos score --scorer affinity` at the end of the data is timed. Prints the summary lines of each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSplitViews, resolveSplit, withRollback } from '../src/backtest/split.js';
import { DEFAULT_CONFIG, type KairosConfig } from '../src/config.js';
import { writeRetailerFiles } from '../src/demo/generate.js';
import { ingest } from '../src/ingest/ingest.js';
import { backtestAffinity } from '../src/scores/affinity/backtest.js';
import { runScores } from '../src/scores/run.js';
import { Store } from '../src/store/db.js';
import { sharedData } from '../src/testing/shared-data.js';
import { option } from './machine.js';

type Input = { entity: 'orders' | 'products' | 'customers' | 'events'; files: string[]; preset?: string };
const only = option('--only', 'online-retail,cj-department,cj-commodity,demo,cdnow').split(',');
const holdout = option('--holdout', '90d');
const scratch = mkdtempSync(join(tmpdir(), 'kairos-affinity-bench-'));

const cj = (): Input[] => [
  { entity: 'products', files: [sharedData('completejourney', 'products.csv.gz')], preset: 'complete-journey' },
  { entity: 'customers', files: [sharedData('completejourney', 'demographics.csv')], preset: 'complete-journey' },
  { entity: 'orders', files: [sharedData('completejourney', 'transactions_sample.csv.gz')], preset: 'complete-journey' },
];
const SETS: Record<string, { inputs: () => Input[]; level: number }> = {
  'online-retail': { inputs: () => [{ entity: 'orders', files: [sharedData('online_retail', 'online_retail.csv.gz')], preset: 'online-retail' }], level: 1 },
  'cj-department': { inputs: cj, level: 1 },
  'cj-commodity': { inputs: cj, level: 2 },
  cdnow: { inputs: () => [{ entity: 'orders', files: [sharedData('cdnow', 'cdnow_master.csv')], preset: 'cdnow' }], level: 1 },
  demo: {
    inputs: () => {
      const f = writeRetailerFiles(join(scratch, 'demo'), { customers: 5000, seed: 7 });
      return (['products', 'customers', 'orders', 'events'] as const).map((entity) => ({ entity, files: [f.paths[entity]] }));
    },
    level: 1,
  },
};

for (const key of only) {
  const set = SETS[key];
  if (!set) throw new Error(`unknown set ${key}`);
  const store = await Store.open(join(scratch, `${key}.duckdb`));
  try {
    for (const i of set.inputs()) await ingest(store, { entity: i.entity, files: i.files, rejectsDir: scratch, ...(i.preset ? { preset: i.preset } : {}) });
    const config: KairosConfig = { ...DEFAULT_CONFIG, affinity: { ...DEFAULT_CONFIG.affinity, enabled: true, level: set.level } };
    let t = performance.now();
    const result = await withRollback(store, async () => {
      const split = await resolveSplit(store, { holdout });
      await createSplitViews(store, split);
      console.log(`\n== ${key} (category level ${set.level}): cut ${split.cut.slice(0, 10)}, holdout ${split.holdoutDays} days`);
      return backtestAffinity({ store, split, config, progress: () => {} });
    });
    const backtestSeconds = (performance.now() - t) / 1000;
    for (const line of result.summary ?? []) console.log(line);
    for (const s of result.sections) console.log(`grade ${s.grade.grade}: ${s.name}: ${s.metrics.map((m) => `${m.metric} ${m.model?.toFixed(3)} vs ${m.baseline?.toFixed(3) ?? 'n/a'}`).join('; ')}`);
    t = performance.now();
    const run = await runScores(store, { config, scorers: ['affinity'] });
    const customers = await store.value('SELECT count(top_category) FROM customer_scores');
    console.log(`backtest ${backtestSeconds.toFixed(1)} s; kairos score --scorer affinity ${((performance.now() - t) / 1000).toFixed(1)} s, ${String(customers)} customers with a top category; notes: ${run.notes.filter((n) => n.startsWith('affinity')).join(' | ')}`);
  } finally {
    store.close();
  }
}
rmSync(scratch, { recursive: true, force: true });
