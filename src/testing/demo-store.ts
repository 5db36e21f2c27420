// A store holding a small generated demo retailer (customers, orders, events), for the tests that compare scores with its latent truth.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRetailerFiles } from '../demo/generate.js';
import { ingest } from '../ingest/ingest.js';
import { Store } from '../store/db.js';

/**
 * Generates `customers` demo customers with `seed`, ingests them (products left out) into a fresh store and runs `fn`
 * with the store, the generated files and a lister of the connection's temp tables; removes everything after.
 */
export async function withDemoStore<T>(
  options: { customers: number; seed: number },
  fn: (store: Store, files: ReturnType<typeof writeRetailerFiles>, temporaryTables: () => Promise<unknown>) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-demo-store-'));
  const store = await Store.open(join(dir, 'k.duckdb'));
  try {
    const files = writeRetailerFiles(join(dir, 'demo'), options);
    const now = new Date('2030-01-01T00:00:00Z');
    for (const entity of ['customers', 'orders', 'events'] as const) await ingest(store, { entity, files: [files.paths[entity]], rejectsDir: dir, now });
    return await fn(store, files, () => store.all('SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1'));
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
