// Checks shared by the ingest tests (src/ingest/ingest.test.ts and its slow file): a refused command changes nothing.
import { expect } from 'vitest';
import { EXIT_CODES, KairosError } from '../errors.js';
import type { Store } from '../store/db.js';

/** Every stored table's rows, to show a refused command changed nothing. */
export async function storeSnapshot(store: Store): Promise<unknown[]> {
  const tables = ['orders', 'customers', 'products', 'events', 'ingest_batches', 'rejects'];
  return Promise.all(tables.map((t) => store.all(`SELECT * FROM ${t} ORDER BY ALL`)));
}

/** The error `promise` rejects with: a Kairos VALIDATION error (exit 3), or the test fails. */
export async function refusal(promise: Promise<unknown>): Promise<KairosError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KairosError);
  expect((err as KairosError).code).toBe('VALIDATION');
  expect(EXIT_CODES.VALIDATION).toBe(3);
  return err as KairosError;
}

/** A quoted orders file of `rows` lines (customer ids with a comma, so quoted), whose line `at` is `bad`. */
export function quotedOrders(rows: number, at: number, bad: string): string {
  const lines = ['order_id,customer_id,ordered_at,unit_price', ...Array.from({ length: rows }, (_, i) => `O${i},"c,${i % 500}",2024-01-01,3`)];
  lines[at - 1] = bad;
  return lines.join('\n');
}
