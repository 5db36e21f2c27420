// Accuracy against the demo's latent truth on a small synthetic retailer: the comparison runs, is finite and informative.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { writeRetailerFiles } from '../demo/generate.js';
import { ingest } from '../ingest/ingest.js';
import { Store } from '../store/db.js';
import { compareWithTruth } from './truth.js';

describe('compareWithTruth', () => {
  it('compares P(alive), expected purchases and order values with truth.csv (seed 11, 600 customers)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-truth-'));
    const store = await Store.open(join(dir, 'k.duckdb'));
    try {
      const files = writeRetailerFiles(join(dir, 'demo'), { customers: 600, seed: 11 });
      await ingest(store, { entity: 'orders', files: [files.paths.orders], rejectsDir: dir, now: new Date('2030-01-01T00:00:00Z') });
      const temporary = (): Promise<unknown> => store.all('SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1');
      const before = await temporary();
      const c = await compareWithTruth(store, files.paths.truth, { config: DEFAULT_CONFIG, asOf: files.summary.dataEnd });
      expect(c.customers).toBe(600);
      // BG/NBD is the family the demo is drawn from: its P(alive) must track the truth's.
      const bg = c.models['bg-nbd'];
      expect(bg.error).toBeNull();
      expect(bg.pAlive.auc).toBeGreaterThan(0.6);
      expect(bg.pAlive.pearsonVsKnown).toBeGreaterThan(0.5);
      for (const m of Object.values(c.models)) {
        expect(m.purchases.pearsonVsKnown).toBeGreaterThan(0.6);
        expect(m.purchases.maeVsRealised).toBeLessThan(c.reference.maeBaselineVsRealised as number);
      }
      expect(c.parameters.map((p) => p.name)).toEqual(['r', 'alpha', 'a', 'b', 'p', 'q', 'gamma']);
      expect(JSON.stringify(c)).not.toMatch(/NaN|null,"truth"/);
      expect(await temporary()).toEqual(before); // rolled back: nothing left behind
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
