// Migrations that rewrite stored rows, applied to a store written the old way.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from './db.js';
import { SCHEMA_VERSION } from './migrations.js';

describe('migrations', () => {
  it('v5 renumbers the cdnow preset order ids customer-date-LINE as customer-date-k per batch, in line order, and no others', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kairos-migrate-')), 'k.duckdb');
    const store = await Store.open(file);
    try {
      // A store at schema 4 with two files: one loaded with --preset cdnow (old ids), one without (ids left as they are).
      await store.run(`INSERT INTO ingest_batches VALUES (1, 'orders', 'a.csv', 'csv', 'cdnow', now(), now(), 5, 5, 0, 0, 0, NULL),
                                                          (2, 'orders', 'b.csv', 'csv', NULL, now(), now(), 1, 1, 0, 0, 0, NULL)`);
      const rows = [
        ['7-1997-01-01-12', '7', 1, 12],
        ['7-1997-01-01-3', '7', 1, 3],
        ['8-1997-01-01-4', '8', 1, 4],
        ['7-1997-01-02-5', '7', 1, 5],
        ['7-1997-01-01-11', '7', 1, 11],
        ['9-1997-01-01-40', '9', 2, 1],
      ] as const;
      for (const [id, customer, batch, amount] of rows) {
        await store.run(`INSERT INTO orders (order_id, customer_id, ordered_at, quantity, unit_price, discount, amount, status, batch_id)
                         VALUES (?, ?, TIMESTAMP '1997-01-01', 1, ?, 0, ?, 'completed', ?)`, [id, customer, amount, amount, batch]);
      }
      await store.run('DELETE FROM schema_migrations WHERE version >= 5');
    } finally {
      store.close();
    }
    const again = await Store.open(file);
    try {
      const ids = await again.all<{ order_id: string; amount: number }>('SELECT order_id, amount FROM orders ORDER BY order_id');
      // Lines 3, 11 and 12 of customer 7's 1997-01-01 become 1, 2 and 3 (numeric order, not text order).
      expect(ids).toEqual([
        { order_id: '7-1997-01-01-1', amount: 3 },
        { order_id: '7-1997-01-01-2', amount: 11 },
        { order_id: '7-1997-01-01-3', amount: 12 },
        { order_id: '7-1997-01-02-1', amount: 5 },
        { order_id: '8-1997-01-01-1', amount: 4 },
        { order_id: '9-1997-01-01-40', amount: 1 },
      ]);
      expect(await again.value('SELECT max(version) FROM schema_migrations')).toBe(SCHEMA_VERSION);
    } finally {
      again.close();
    }
  });
});
