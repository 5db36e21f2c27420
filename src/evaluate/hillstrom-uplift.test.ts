// Hillstrom's e-mail test as read for the uplift section: the file's rates against the published ones.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { Store } from '../store/db.js';
import { expectClose } from '../testing/expect-close.js';
import { sharedData } from '../testing/shared-data.js';
import { HILLSTROM_PUBLISHED, hillstromUplift, type HillstromUplift } from './hillstrom-uplift.js';

let store: Store;
let read: HillstromUplift;
beforeAll(async () => {
  store = await Store.open(':memory:');
  // No arm: the file's segments only, no trees.
  read = await hillstromUplift(store, sharedData('hillstrom_email', 'hillstrom.csv.gz'), DEFAULT_CONFIG.learned, { arms: [] });
});
afterAll(() => store.close());

describe('Hillstrom e-mail test (../shared/data/hillstrom_email)', () => {
  it('reads 64,000 customers in three arms of about a third each', () => {
    expectClose(read.customers, 64_000, { atol: 0 }, 'customers');
    for (const s of Object.values(read.segments)) expectClose(s.customers / 64_000, 1 / 3, { atol: 0.005 }, 'share of an arm');
  });

  it.each(Object.entries(HILLSTROM_PUBLISHED))("matches Hillstrom's MineThatData E-Mail Analytics challenge (2008), %s: visit, conversion, spend", (name, published) => {
    const s = read.segments[name as keyof typeof HILLSTROM_PUBLISHED];
    // Half a unit of the last printed digit.
    expectClose(100 * s.visit, published.visit, { atol: 0.005 }, `${name} visit %`);
    expectClose(100 * s.conversion, published.conversion, { atol: 0.005 }, `${name} conversion %`);
    expectClose(s.spend, published.spend, { atol: 0.005 }, `${name} spend $`);
  });

  it("matches Hillstrom's MineThatData E-Mail Analytics challenge (2008), any e-mail against none: visits 16.7% vs 10.6%, conversion 1.07% vs 0.57%", () => {
    const { 'Mens E-Mail': m, 'Womens E-Mail': w, 'No E-Mail': none } = read.segments;
    const any = (o: 'visit' | 'conversion'): number => (m[o] * m.customers + w[o] * w.customers) / (m.customers + w.customers);
    expectClose(100 * any('visit'), 16.7, { atol: 0.05 }, 'any e-mail visit %');
    expectClose(100 * none.visit, 10.6, { atol: 0.05 }, 'no e-mail visit %');
    expectClose(100 * any('conversion'), 1.07, { atol: 0.005 }, 'any e-mail conversion %');
    expectClose(100 * (any('visit') - none.visit), 6.1, { atol: 0.05 }, 'visit uplift, points');
  });
});
