// Slow accuracy test: on Hillstrom's e-mail test the cross-fitted uplift models rank who the e-mail moves to visit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { Store } from '../store/db.js';
import { sharedData } from '../testing/shared-data.js';
import { hillstromUplift, type OutcomeResult } from './hillstrom-uplift.js';

let store: Store;
let visit: OutcomeResult;
beforeAll(async () => {
  store = await Store.open(':memory:');
  const r = await hillstromUplift(store, sharedData('hillstrom_email', 'hillstrom.csv.gz'), DEFAULT_CONFIG.learned, { arms: ['any e-mail'], outcomes: ['visit'] });
  visit = r.arms[0]?.outcomes[0] as OutcomeResult;
}, 600_000);
afterAll(() => store.close());

describe('uplift on visits, any e-mail against none (64,000 customers, 5 folds)', () => {
  it('has deciles that add up to the whole test for every ranking', () => {
    for (const r of visit.rankings) {
      expect(r.deciles.reduce((s, d) => s + d.treated, 0)).toBe(visit.overall.treated);
      expect(r.deciles.reduce((s, d) => s + d.sumControl, 0)).toBe(visit.overall.sumControl);
    }
  });

  it('ranks by the uplift models better than by recency: higher Qini, and a top decile above the average uplift', () => {
    const by = Object.fromEntries(visit.rankings.map((r) => [r.key, r]));
    const overall = visit.overall.uplift?.estimate ?? NaN;
    for (const key of ['two-model', 'transformed-outcome'] as const) {
      const r = by[key];
      expect(r?.qiniCoefficient).toBeGreaterThan(by['recency']?.qiniCoefficient ?? Infinity);
      expect(r?.deciles[0]?.uplift?.lower).toBeGreaterThan(overall);
    }
  });
});
