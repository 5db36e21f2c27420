// The next-purchase trees: used only when they beat the shrunk share on the inner holdout by more than the noise.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../config.js';
import { ingest } from '../../ingest/ingest.js';
import { Store } from '../../store/db.js';
import { rng } from '../../testing/orders-fixture.js';
import { runScores } from '../run.js';
import { aucDifferenceError } from './next-purchase.js';

describe('aucDifferenceError', () => {
  it('is Hanley-McNeil (1982) for each AUC, added as independent: A = 0.5, 50 and 50 gives sqrt(2) x 0.0584', () => {
    // SE(0.5; 50, 50)² = [0.25 + 49 (1/3 − 1/4) + 49 (1/3 − 1/4)] / 2500 = (0.25 + 98/12) / 2500.
    const one = Math.sqrt((0.25 + 98 / 12) / 2500);
    expect(aucDifferenceError(0.5, 0.5, 50, 50)).toBeCloseTo(Math.SQRT2 * one, 12);
    expect(aucDifferenceError(0.7, 0.6, 5000, 5000)).toBeLessThan(aucDifferenceError(0.7, 0.6, 50, 50));
  });
});

describe('next purchase on promotion', () => {
  /*
   * 400 customers (mulberry32 seed 5) buy every 7 days for two years, in regimes of 8 to 24 weeks: all on promotion, or
   * none. Their long-run shares are all near one half, so the shrunk share cannot tell whose next purchase is on
   * promotion; the last purchase day's promotion flag can: the trees must be used, and say so.
   */
  it('uses the trees when they beat the shrunk share on the inner holdout, and says by how much', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-next-'));
    const store = await Store.open(join(dir, 'k.duckdb'));
    try {
      const u = rng(5);
      const lines = ['order_id,customer_id,ordered_at,quantity,unit_price,discount'];
      const start = Date.UTC(2023, 0, 2);
      for (let c = 0; c < 400; c++) {
        let promo = u() < 0.5;
        let left = 8 + Math.floor(u() * 17);
        const offset = Math.floor(u() * 7);
        for (let w = 0; w < 104; w++) {
          if (left-- === 0) {
            promo = !promo;
            left = 8 + Math.floor(u() * 17);
          }
          const day = new Date(start + (7 * w + offset) * 86_400_000).toISOString().slice(0, 10);
          lines.push(`c${c}-${w},c${c},${day}T12:00:00Z,1,10,${promo ? 3 : 0}`);
        }
      }
      writeFileSync(join(dir, 'orders.csv'), `${lines.join('\n')}\n`);
      await ingest(store, { entity: 'orders', files: [join(dir, 'orders.csv')], rejectsDir: dir, now: new Date('2030-01-01T00:00:00Z') });
      const run = await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-12-30', scorers: ['promotion'] });
      const note = run.notes.find((n) => n.startsWith('promotion: boosted trees'));
      expect(note).toMatch(/^promotion: boosted trees predict the next purchase on promotion better, by more than 0\.\d{3} \(ROC AUC 0\.9\d\d for the trees against 0\.[0-6]\d\d for the shrunk share, on the next purchase day of 400 buyers in the 90 days after 2024-10-01\): their probability is the score's base \(\d+ trees\)$/);
      // The score follows the current regime: customers whose last purchase was on promotion score higher.
      const means = await store.all<{ last_promo: boolean; mean: number }>(
        `WITH last AS (SELECT customer_id, arg_max(discount > 0, ordered_at) AS last_promo FROM orders WHERE ordered_at < TIMESTAMP '2024-12-30' GROUP BY 1)
         SELECT last_promo, avg(promo_appetence) AS mean FROM customer_scores JOIN last USING (customer_id) GROUP BY 1 ORDER BY 1`,
      );
      expect(means).toHaveLength(2);
      expect((means[1]?.mean ?? 0) - (means[0]?.mean ?? 0)).toBeGreaterThan(40);
      const p = await store.value<number>('SELECT count(*) FROM customer_scores WHERE NOT (promo_next_purchase_probability BETWEEN 0 AND 1)');
      expect(Number(p)).toBe(0);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
