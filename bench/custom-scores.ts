// What a custom score adds to `kairos score`: a demo retailer scored by every shipped scorer once, then the custom
// score run alone on the stored results (as the last step of a full run does), several times; and its evaluation.
//
//   npx tsx bench/custom-scores.ts [--customers 10000] [--runs 3]
//
// Prints the custom scorer's own seconds, the partial run's (as-of views, fingerprint, publishing, summaries included)
// and the full run's once, with the load average.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type KairosConfig } from '../src/config.js';
import { writeRetailerFiles } from '../src/demo/generate.js';
import { evaluateStore } from '../src/evaluate/evaluate.js';
import { ingest } from '../src/ingest/ingest.js';
import { registryFor, ScoreRegistry } from '../src/scores/registry.js';
import { runScores } from '../src/scores/run.js';
import { suggestWeights } from '../src/scores/custom/suggest.js';
import { Store } from '../src/store/db.js';
import { median, option } from './machine.js';

const customers = Number(option('--customers', '10000'));
const runs = Number(option('--runs', '3'));
const config: KairosConfig = {
  ...DEFAULT_CONFIG,
  customScores: [
    {
      name: 'vip_potential',
      description: 'customers worth a VIP programme',
      scale: { min: 0, max: 100 },
      criteria: [
        { when: 'frequency >= 5', points: 30, label: '5 orders or more' },
        { when: 'monetary > 500', points: 30 },
        { when: 'recency_days <= 60', points: 40, label: 'bought in the last 60 days' },
      ],
      objective: { event: 'purchase', withinDays: 90 },
    },
  ],
};
const registry = registryFor(config);
const dir = mkdtempSync(join(tmpdir(), 'kairos-bench-custom-'));
const store = await Store.open(join(dir, 'k.duckdb'));
try {
  const files = writeRetailerFiles(join(dir, 'demo'), { customers, seed: 42 });
  for (const entity of ['products', 'customers', 'orders', 'events'] as const) await ingest(store, { entity, files: [files.paths[entity]], rejectsDir: dir });
  console.log(`${customers.toLocaleString('en')} demo customers, load average ${(loadavg()[0] ?? 0).toFixed(1)}`);
  const full = await runScores(store, { config, registry, asOf: files.summary.dataEnd });
  const own = full.scorers.find((s) => s.name === 'vip_potential')?.seconds ?? Number.NaN;
  console.log(`full kairos score: ${full.seconds.toFixed(2)} s, of which vip_potential ${own.toFixed(3)} s`);
  const partial: number[] = [];
  const scorer: number[] = [];
  for (let k = 0; k < runs; k++) {
    const r = await runScores(store, { config, registry, asOf: files.summary.dataEnd, scorers: ['vip_potential'] });
    partial.push(r.seconds);
    scorer.push(r.scorers[0]?.seconds ?? Number.NaN);
  }
  console.log(`kairos score --scorer vip_potential: runs ${partial.map((s) => s.toFixed(2)).join(', ')} s (median ${median(partial).toFixed(2)}); the scorer itself ${scorer.map((s) => s.toFixed(3)).join(', ')} s`);
  const slim = new ScoreRegistry(registry.scorers.map((s) => (s.name === 'vip_potential' ? s : { ...s, backtest: undefined })));
  const t0 = performance.now();
  const ev = await evaluateStore(store, { config, registry: slim, holdout: 90 });
  console.log(`evaluate (the custom section alone, learned score at the cut included): ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  for (const line of ev.scorers['vip_potential']?.summary ?? []) console.log(line);
  const t1 = performance.now();
  const s = await suggestWeights(store, config, registry, 'vip_potential');
  console.log(`suggest-weights: ${((performance.now() - t1) / 1000).toFixed(2)} s; held-out ROC AUC ${s.holdoutAuc.before?.toFixed(3)} -> ${s.holdoutAuc.after?.toFixed(3)}, points ${s.criteria.map((c) => `${c.points}->${c.proposed}`).join(', ')}`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
