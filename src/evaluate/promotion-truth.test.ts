// Promotion appetence against the demo's latent promo_sensitivity on a small synthetic retailer: shrinkage ranks better than the raw share.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { withDemoStore } from '../testing/demo-store.js';
import { comparePromotionWithTruth } from './promotion-truth.js';

describe('comparePromotionWithTruth', () => {
  /*
   * Measured with the default settings on 600 customers: seed 11 (this test) gave Spearman 0.281 for promo_appetence
   * against 0.226 for the raw share; seeds 12 and 13 gave 0.167 vs 0.113 and 0.142 vs 0.096. The floor and the margin
   * fail a change that loses the shrinkage's gain, not the noise between seeds (the test's seed is fixed).
   */
  it('ranks customers by their latent promotion sensitivity better than the raw share (seed 11, 600 customers)', async () => {
    await withDemoStore({ customers: 600, seed: 11 }, async (store, files, temporary) => {
      const before = await temporary();
      const c = await comparePromotionWithTruth(store, files.paths.truth, { config: DEFAULT_CONFIG, asOf: files.summary.dataEnd });
      expect(c.customers).toBe(600);
      expect(c.spearman).toBeGreaterThan(0.25);
      expect((c.spearman ?? 0) - (c.spearmanRaw ?? 0)).toBeGreaterThan(0.03);
      expect(c.withHistory).toBeGreaterThan(100);
      expect(await temporary()).toEqual(before); // rolled back: nothing left behind
    });
  });
});
