// Settings that go with a preset's data, for its users and for the pages that grade Kairos on it (scripts/accuracy.ts, bench/).
import type { RecommendSettings } from '../config.js';

/**
 * The Complete Journey's food departments, and fuel: bought again and again, so recommended again to their buyers
 * (`recommend.consumableCategories`; a department covers every commodity under it). Cards, cosmetics, drugstore
 * general merchandise, garden and the like are not.
 */
export const COMPLETE_JOURNEY_CONSUMABLES: RecommendSettings['consumableCategories'] = [
  'GROCERY',
  'PRODUCE',
  'MEAT',
  'MEAT-PCKGD',
  'DELI',
  'PASTRY',
  'SEAFOOD',
  'SEAFOOD-PCKGD',
  'NUTRITION',
  'FROZEN GROCERY',
  'FUEL',
  'SALAD BAR',
  'SPIRITS',
];
