// The registry's load-time checks: names, collisions with customers' columns and between scorers, dependencies and their order.
import { describe, expect, it } from 'vitest';
import { Store } from '../store/db.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import { toyItemScorer } from '../testing/toy-scorers.js';
import { DEFAULT_REGISTRY, ScoreRegistry, SCORERS } from './registry.js';
import type { Scorer } from './types.js';

/** A scorer that only declares things (never run here). */
function declared(name: string, columns: string[], extra: Partial<Scorer> = {}): Scorer {
  return {
    name,
    version: '1.0.0',
    description: `test scorer ${name}`,
    columns: columns.map((c) => ({ name: c, type: 'number', unit: 'none', description: `column ${c}` })),
    run: async () => ({ table: 'none', models: [], notes: [] }),
    explain: () => [],
    ...extra,
  };
}

describe('ScoreRegistry', () => {
  it('loads the shipped scorers, dependencies first', () => {
    expect(DEFAULT_REGISTRY.scorers.map((s) => s.name)).toEqual(['rfm', 'clv', 'lifecycle', 'engagement', 'learned', 'recommend', 'affinity', 'promotion']);
    // Reversed: clv still comes after rfm, and learned and lifecycle after clv, their dependencies; engagement, recommend, affinity and promotion depend on nothing.
    expect(new ScoreRegistry([...SCORERS].reverse()).scorers.map((s) => s.name)).toEqual(['promotion', 'affinity', 'recommend', 'rfm', 'clv', 'learned', 'engagement', 'lifecycle']);
    expect(DEFAULT_REGISTRY.resolve(['clv', 'rfm']).map((s) => s.name)).toEqual(['rfm', 'clv']);
    expect(DEFAULT_REGISTRY.dependents('rfm').map((s) => s.name)).toEqual(['clv', 'lifecycle']);
  });

  it('refuses a score column named like a column of customers (email), never renaming it', () => {
    expect(() => new ScoreRegistry([declared('a', ['email'])])).toThrow(/scorer a: column "email" is already a column of the customers table/);
    expect(() => new ScoreRegistry([declared('a', ['run_id'])])).toThrow(/already a column of the customers table or the run/);
  });

  it('refuses two scorers declaring the same column, item columns included, and two scorers of one name', () => {
    expect(() => new ScoreRegistry([declared('a', ['x']), declared('b', ['x'])])).toThrow(/scorer b: column "x" is already a column of scorer a/);
    expect(() => new ScoreRegistry([...SCORERS, declared('b', ['toy_top_products_2']), toyItemScorer])).toThrow(
      /scorer toy_items: column "toy_top_products_2" is already a column of scorer b/,
    );
    expect(() => new ScoreRegistry([declared('a', ['x']), declared('a', ['y'])])).toThrow(/two scorers are named "a"/);
  });

  it('refuses names that cannot be identifiers, unknown dependencies and cycles', () => {
    expect(() => new ScoreRegistry([declared('A-b', ['x'])])).toThrow(/not snake_case/);
    expect(() => new ScoreRegistry([declared('a', ['X y'])])).toThrow(/not snake_case/);
    expect(() => new ScoreRegistry([declared('a', ['x'], { dependsOn: ['nope'] })])).toThrow(/depends on "nope", which is not registered/);
    expect(() => new ScoreRegistry([declared('a', ['x'], { dependsOn: ['b'] }), declared('b', ['y'], { dependsOn: ['a'] })])).toThrow(
      /cycle: a -> b -> a/,
    );
  });

  it('names an unknown scorer with the valid ones', () => {
    expect(() => DEFAULT_REGISTRY.resolve(['rfm', 'cvl'])).toThrow(/invalid scorer "cvl" \(expected one of rfm, clv, lifecycle, engagement, learned, recommend, affinity, promotion\)/);
  });

  it('checks against the real customers table: CUSTOMER_COLUMNS is its column list', async () => {
    const store = await Store.open(':memory:');
    try {
      const cols = await store.all<{ column_name: string }>('DESCRIBE customers');
      expect(cols.map((c) => c.column_name)).toEqual([...CUSTOMER_COLUMNS]);
    } finally {
      store.close();
    }
  });
});
