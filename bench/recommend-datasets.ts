// Recommendations on real data (issue #11, item 4): the recommend scorer's choice, its `kairos evaluate` section and the scoring time on Online Retail, the Complete Journey sample and the demo.
//
//   npx tsx bench/recommend-datasets.ts [--datasets online-retail,complete-journey,demo] [--holdout 90] [--demo-customers 5000]
//     [--cj-consumables] [--item-knn-support 1] [--item-knn-shrinkage 0]
//
// --cj-consumables makes the Complete Journey's food departments consumable (src/ingest/suggested-settings.ts: groceries
// repeat); the item-knn options set recommend.itemKnn (support floor and shrinkage).
//
// Each data set is ingested into a fresh store (ingest not timed), then: `kairos evaluate`'s recommend section alone
// (the scorer's choice on the calibration, every recommender and the baselines graded on the holdout buyers), and a
// scoring run of the recommend scorer alone at the default as-of (timed from its call to its return). The split: the
// last --holdout days of the data are the holdout. Results: stdout and bench/out/recommend-datasets.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_CONFIG, type KairosConfig } from '../src/config.js';
import { COMPLETE_JOURNEY_CONSUMABLES } from '../src/ingest/suggested-settings.js';
import { writeRetailerFiles } from '../src/demo/generate.js';
import { evaluateStore } from '../src/evaluate/evaluate.js';
import { ingest } from '../src/ingest/ingest.js';
import { ScoreRegistry } from '../src/scores/registry.js';
import type { RecommendBacktestDetails } from '../src/scores/recommend/backtest.js';
import { recommendScorer } from '../src/scores/recommend/index.js';
import { runScores } from '../src/scores/run.js';
import { Store } from '../src/store/db.js';
import { sharedData } from '../src/testing/shared-data.js';
import { option } from './machine.js';

const datasets = option('--datasets', 'online-retail,complete-journey,demo').split(',');
const holdout = Number(option('--holdout', '90'));
const demoCustomers = Number(option('--demo-customers', '5000'));
const cjConsumables = process.argv.includes('--cj-consumables');
const itemKnn = { minSupport: Number(option('--item-knn-support', '1')), shrinkage: Number(option('--item-knn-shrinkage', '0')) };
const configFor = (name: string): KairosConfig => ({
  ...DEFAULT_CONFIG,
  recommend: { ...DEFAULT_CONFIG.recommend, itemKnn, ...(name === 'complete-journey' && cjConsumables ? { consumableCategories: COMPLETE_JOURNEY_CONSUMABLES } : {}) },
});

async function load(name: string, store: Store, dir: string): Promise<void> {
  if (name === 'online-retail') {
    await ingest(store, { entity: 'orders', files: [sharedData('online_retail', 'online_retail.csv.gz')], preset: 'online-retail' });
  } else if (name === 'complete-journey') {
    await ingest(store, { entity: 'products', files: [sharedData('completejourney', 'products.csv.gz')], preset: 'complete-journey' });
    await ingest(store, { entity: 'orders', files: [sharedData('completejourney', 'transactions_sample.csv.gz')], preset: 'complete-journey' });
  } else if (name === 'demo') {
    const files = writeRetailerFiles(join(dir, 'files'), { customers: demoCustomers, seed: 7 });
    for (const entity of ['products', 'customers', 'orders', 'events'] as const) await ingest(store, { entity, files: [files.paths[entity]] });
  } else throw new Error(`unknown data set ${name}`);
}

const results: Record<string, unknown> = {};
for (const name of datasets) {
  const dir = mkdtempSync(join(tmpdir(), `kairos-rec-${name}-`));
  const store = await Store.open(join(dir, 'k.duckdb'));
  try {
    await load(name, store, dir);
    const t0 = performance.now();
    const evaluation = await evaluateStore(store, { config: configFor(name), registry: new ScoreRegistry([recommendScorer]), holdout });
    const evalSeconds = (performance.now() - t0) / 1000;
    const part = evaluation.scorers['recommend'];
    const details = part?.details as RecommendBacktestDetails | undefined;
    const section = evaluation.report.scores.find((s) => s.kind === 'ranking');
    console.log(`\n== ${name}: calibration ${evaluation.report.calibration.start} to ${evaluation.report.calibration.end}, holdout ${evaluation.report.holdout.start} to ${evaluation.report.holdout.end}`);
    for (const line of part?.summary ?? []) console.log(line);
    if (section) console.log(`grade ${section.grade.grade}: ${section.grade.reason}`);
    console.log(`evaluate (recommend section alone): ${evalSeconds.toFixed(1)} s`);
    const t1 = performance.now();
    const run = await runScores(store, { config: configFor(name), scorers: ['recommend'] });
    const scoreSeconds = (performance.now() - t1) / 1000;
    for (const n of run.notes) console.log(`note: ${n}`);
    console.log(`score (recommend alone, ${run.customers} customers): ${scoreSeconds.toFixed(1)} s`);
    const figures = Object.fromEntries((details?.graded ?? []).map((g) => [g.name, g.metrics]));
    results[name] = { chosen: details?.choice?.chosen ?? null, buyers: details?.buyers ?? 0, figures, grade: section?.grade ?? null, evalSeconds, scoreSeconds, notes: run.notes };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
const out = resolve('bench/out');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'recommend-datasets.json'), `${JSON.stringify({ holdout, results }, null, 2)}\n`);
